"""Readings service: meter readings by hand and from a photo, their history and events."""
