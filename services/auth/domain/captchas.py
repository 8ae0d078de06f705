"""Image captchas: one-time, expiring, the answer kept server side (hashed)."""
from __future__ import annotations

import base64
import secrets
from datetime import datetime, timedelta

from captcha.image import ImageCaptcha
from sqlalchemy.orm import Session

from services.auth.domain.onetime import keyed_hash, new_id, same
from services.auth.models import Captcha
from shared.blocking import offload
from shared.errors import ValidationFailed

# Only characters nobody confuses in a distorted picture: no 0/O/Q/D, 1/I/L, 2/Z, 5/S,
# 6/G, 8/B (tried by hand: "U54 6A" read as "US46A").
ALPHABET = "ACEFHJKMNPRTUVWXY34579"
LENGTH = 5
_image = ImageCaptcha(width=200, height=70)

WRONG = "Неверно введено слово на картинке, попробуйте ещё раз"


def _answer_hash(secret_key: str, captcha_id: str, answer: str) -> str:
    return keyed_hash(secret_key, "captcha", captcha_id, answer.strip().upper())


def create(session: Session, now: datetime, ttl: int, secret_key: str,
           test_answer: str = "") -> dict[str, object]:
    """A new captcha: its id and PNG picture. ``test_answer`` (tests only) is the answer."""
    answer = test_answer or "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    captcha_id = new_id()
    png = offload(_image.generate, answer).getvalue()
    session.add(Captcha(id=captcha_id, answer_hash=_answer_hash(secret_key, captcha_id, answer),
                        expires_at=now + timedelta(seconds=ttl)))
    session.commit()
    return {"captcha_id": captcha_id, "image_png_base64": base64.b64encode(png).decode(),
            "expires_in": ttl}


def solve(session: Session, captcha_id: object, answer: object, now: datetime,
          secret_key: str) -> None:
    """Check and spend the captcha; one try per picture, right or wrong (the caller commits)."""
    if not isinstance(captcha_id, str) or not captcha_id:
        raise ValidationFailed("Введите слово на картинке", {"captcha_id": "required"})
    if not isinstance(answer, str) or not answer.strip():
        raise ValidationFailed("Введите слово на картинке", {"captcha_answer": "required"})
    captcha = session.get(Captcha, captcha_id, with_for_update=True)
    if captcha is None or captcha.used_at is not None:
        raise ValidationFailed("Картинка устарела, обновите её", {"captcha_id": "unknown or used"})
    captcha.used_at = now
    if captcha.expires_at <= now:
        session.commit()
        raise ValidationFailed("Картинка устарела, обновите её", {"captcha_id": "expired"})
    if not same(captcha.answer_hash, _answer_hash(secret_key, captcha_id, answer)):
        session.commit()
        raise ValidationFailed(WRONG, {"captcha_answer": "wrong"})
