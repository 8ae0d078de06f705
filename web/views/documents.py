"""Pages of the section «documents» (to be built)."""
from __future__ import annotations

from flask import Blueprint, render_template

from web.session import login_required

bp = Blueprint("documents", __name__)


@bp.get("/documents")
@login_required
def index() -> str:
    return render_template("placeholder.html", title="documents")
