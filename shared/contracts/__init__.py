"""Event contracts: one module per producer, one marshmallow schema per event.

These are the only thing services share about each other's events. Billing systems read
the same contracts as JSON Schema (``python -m shared.contracts`` prints them).
"""
from shared.contracts import accounts, auth, billing, payments, readings  # noqa: F401
from shared.contracts import documents, rejections, requests  # noqa: F401
