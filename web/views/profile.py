"""Pages of the section «profile» (to be built)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, render_template, send_file

from web.session import login_required

bp = Blueprint("profile", __name__)
STATIC_AVATAR = Path(__file__).resolve().parent.parent / "static" / "avatar.svg"


@bp.get("/profile")
@login_required
def index() -> str:
    return render_template("placeholder.html", title="profile")


@bp.get("/profile/photo")
@login_required
def photo() -> str:
    return render_template("placeholder.html", title="Изменить фото")


@bp.get("/me/photo")
@login_required
def photo_image() -> Any:
    """The header's photo: the customer's own, or a neutral silhouette."""
    return send_file(STATIC_AVATAR, mimetype="image/svg+xml")
