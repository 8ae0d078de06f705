"""Pages of the section «payments» (to be built)."""
from __future__ import annotations

from flask import Blueprint, render_template

from web.session import login_required

bp = Blueprint("payments", __name__)


@bp.get("/payments")
@login_required
def index() -> str:
    return render_template("placeholder.html", title="payments")
