"""Pages of the section «home» (to be built)."""
from __future__ import annotations

from flask import Blueprint, render_template

from web.session import login_required

bp = Blueprint("home", __name__)


@bp.get("/")
@login_required
def index() -> str:
    return render_template("placeholder.html", title="home")
