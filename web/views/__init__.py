"""The cabinet's pages, one blueprint per section of the manual."""
from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from web.views import (auth, documents, history, home, operator, payments, profile,
                           readings, sbp, services)

    for module in (auth, home, readings, payments, sbp, profile, documents, history, services,
                   operator):
        app.register_blueprint(module.bp)
