"""Pages of the section «readings» (to be built)."""
from __future__ import annotations

from flask import Blueprint, render_template

from web.session import login_required

bp = Blueprint("readings", __name__)


@bp.get("/readings")
@login_required
def index() -> str:
    return render_template("placeholder.html", title="readings")
