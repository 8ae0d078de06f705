"""The rules of ordering works, as plain Python (no nameko)."""
