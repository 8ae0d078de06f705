"""Pages of the section «services» (to be built)."""
from __future__ import annotations

from flask import Blueprint, render_template

from web.session import login_required

bp = Blueprint("services", __name__)


@bp.get("/services")
@login_required
def index() -> str:
    return render_template("placeholder.html", title="services")


@bp.get("/notices")
@login_required
def notices() -> str:
    return render_template("placeholder.html", title="Уведомления")
