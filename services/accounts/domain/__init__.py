"""Rules of the accounts service, free of nameko."""
