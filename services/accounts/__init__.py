"""Accounts service: the registry of personal accounts, links to users, profiles and notices."""
