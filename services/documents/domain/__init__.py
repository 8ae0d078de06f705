"""Rules of the documents service, free of nameko: the bill, its payment QR code, its PDF."""
