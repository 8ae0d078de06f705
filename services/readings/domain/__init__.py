"""Rules of the readings service, free of nameko."""
