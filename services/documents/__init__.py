"""Documents service: bills as PDF with a payment QR code, uploaded documents."""
