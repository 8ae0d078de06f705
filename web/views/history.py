"""Pages of the section «history» (to be built)."""
from __future__ import annotations

from flask import Blueprint, render_template

from web.session import login_required

bp = Blueprint("history", __name__)


@bp.get("/history")
@login_required
def index() -> str:
    return render_template("placeholder.html", title="history")
