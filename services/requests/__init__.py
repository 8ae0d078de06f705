"""Requests service: ordering electrical works (РАЗДЕЛ «УСЛУГИ») and the operators' queue."""
