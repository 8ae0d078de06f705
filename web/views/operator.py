"""Pages of the section «operator» (to be built)."""
from __future__ import annotations

from flask import Blueprint, render_template

from web.session import login_required

bp = Blueprint("operator", __name__)


@bp.get("/operator")
@login_required
def index() -> str:
    return render_template("placeholder.html", title="operator")
