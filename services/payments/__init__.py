"""Payments service: card payments of debt and penalties, saved cards, refunds."""
