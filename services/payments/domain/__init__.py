"""Domain logic of the payments service: plain code that knows nothing of nameko or the database."""
