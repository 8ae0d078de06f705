"""The HTTP gateway: the one entry for web and mobile front ends."""
