"""Rules of the auth service, free of nameko: testable without a broker."""
