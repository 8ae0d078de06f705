"""SMS code challenges: hashed codes that expire, a few attempts, resend cooldown and limits."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Mapping

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from services.auth.domain.onetime import keyed_hash, new_code, new_id, new_token, same
from services.auth.models import SmsSend, Verification
from shared.errors import Gone, NotFound, TooManyRequests, ValidationFailed

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Policy:
    ttl: int
    attempts: int
    cooldown: int
    per_phone_hourly: int
    per_ip_hourly: int
    secret_key: str

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "Policy":
        return cls(ttl=config["SMS_CODE_TTL"], attempts=config["SMS_CODE_ATTEMPTS"],
                   cooldown=config["SMS_RESEND_COOLDOWN"],
                   per_phone_hourly=config["SMS_PER_PHONE_HOURLY"],
                   per_ip_hourly=config["SMS_PER_IP_HOURLY"], secret_key=config["SECRET_KEY"])


def _code_hash(policy: Policy, verification_id: str, code: str) -> str:
    return keyed_hash(policy.secret_key, "sms", verification_id, code)


def _check_limits(session: Session, policy: Policy, phone: str, client_ip: str,
                  now: datetime) -> None:
    last = session.scalar(select(func.max(SmsSend.sent_at)).where(SmsSend.phone == phone))
    if last is not None and (wait := policy.cooldown - (now - last).total_seconds()) > 0:
        raise TooManyRequests("Повторно запросить код можно через несколько секунд",
                              {"phone": "resend cooldown"}, retry_after=math.ceil(wait))
    since = now - HOUR
    per_phone = session.scalar(select(func.count()).select_from(SmsSend).where(
        SmsSend.phone == phone, SmsSend.sent_at > since))
    if per_phone >= policy.per_phone_hourly:
        raise TooManyRequests("Слишком много кодов на этот номер, попробуйте через час",
                              {"phone": "hourly limit"}, retry_after=3600)
    per_ip = session.scalar(select(func.count()).select_from(SmsSend).where(
        SmsSend.client_ip == client_ip, SmsSend.sent_at > since))
    if per_ip >= policy.per_ip_hourly:
        raise TooManyRequests("Слишком много запросов кодов, попробуйте через час",
                              {"phone": "hourly limit for this address"}, retry_after=3600)


def start(session: Session, policy: Policy, purpose: str, phone: str, client_ip: str,
          now: datetime, user_id: str | None = None, send: bool = True) -> tuple[Verification, str | None]:
    """Open a challenge (the caller commits, then sends the returned code by SMS).

    ``send=False`` opens one that no code can pass (e.g. reset for an unknown number) while
    counting against the same limits, so the two cases look alike from outside.
    """
    _check_limits(session, policy, phone, client_ip, now)
    verification = Verification(id=new_id(), purpose=purpose, phone=phone, user_id=user_id,
                                attempts=0, sent_at=now, client_ip=client_ip,
                                expires_at=now + timedelta(seconds=policy.ttl))
    code = new_code() if send else None
    verification.code_hash = _code_hash(policy, verification.id, code) if code else None
    session.add(verification)
    session.add(SmsSend(verification=verification, phone=phone, client_ip=client_ip, sent_at=now))
    return verification, code


def resend(session: Session, policy: Policy, verification_id: object, client_ip: str,
           now: datetime) -> tuple[Verification, str | None]:
    """A fresh code for an open challenge (same limits; the old code stops working)."""
    verification = _get_open(session, verification_id, now)
    _check_limits(session, policy, verification.phone, client_ip, now)
    code = new_code() if verification.code_hash else None
    verification.code_hash = _code_hash(policy, verification.id, code) if code else None
    verification.attempts = 0
    verification.sent_at = now
    verification.expires_at = now + timedelta(seconds=policy.ttl)
    session.add(SmsSend(verification=verification, phone=verification.phone, client_ip=client_ip,
                        sent_at=now))
    return verification, code


def cancel(session: Session, verification: Verification) -> None:
    """The SMS could not be sent: drop the challenge and its sends (no cooldown, no quota)."""
    session.execute(delete(SmsSend).where(SmsSend.verification_id == verification.id))
    session.delete(verification)


def _get_open(session: Session, verification_id: object, now: datetime) -> Verification:
    if not isinstance(verification_id, str) or not verification_id:
        raise ValidationFailed("Запросите код заново", {"verification_id": "required"})
    verification = session.get(Verification, verification_id, with_for_update=True)
    if verification is None:
        raise NotFound("Запросите код заново", {"verification_id": "unknown"})
    if verification.consumed_at is not None or verification.verified_at is not None:
        raise Gone("Код уже использован, запросите новый", {"verification_id": "already used"})
    return verification


def check_code(session: Session, policy: Policy, verification_id: object, code: object,
               purpose: str, now: datetime, user_id: str | None = None) -> Verification:
    """Spend one attempt on ``code``; on success mark the challenge verified (caller commits)."""
    verification = _get_open(session, verification_id, now)
    if verification.purpose != purpose or (user_id is not None and verification.user_id != user_id):
        raise NotFound("Запросите код заново", {"verification_id": "unknown"})
    if not isinstance(code, str) or not code.strip():
        raise ValidationFailed("Введите код из SMS", {"code": "required"})
    if verification.expires_at <= now:
        raise Gone("Срок действия кода истёк, запросите новый", {"code": "expired"})
    if verification.attempts >= policy.attempts:
        raise Gone("Исчерпано число попыток, запросите новый код", {"code": "too many attempts"})
    verification.attempts += 1
    if not same(verification.code_hash, _code_hash(policy, verification.id, code.strip())):
        session.commit()  # the spent attempt must stick
        left = policy.attempts - verification.attempts
        raise ValidationFailed(f"Неверный код из SMS (осталось попыток: {left})",
                               {"code": "wrong"})
    verification.verified_at = now
    return verification


def issue_proof(verification: Verification, policy: Policy) -> str:
    """A single-use token proving the phone was verified, for the next step of a flow."""
    proof = new_token()
    verification.proof_hash = keyed_hash(policy.secret_key, "proof", proof)
    return proof


def redeem_proof(session: Session, policy: Policy, proof: object, purpose: str,
                 now: datetime, field: str) -> Verification:
    if not isinstance(proof, str) or not proof:
        raise ValidationFailed("Подтвердите номер кодом из SMS", {field: "required"})
    verification = session.scalar(select(Verification).where(
        Verification.proof_hash == keyed_hash(policy.secret_key, "proof", proof)))
    if verification is None or verification.purpose != purpose:
        raise NotFound("Подтвердите номер кодом из SMS заново", {field: "unknown"})
    if verification.consumed_at is not None:
        raise Gone("Этот шаг уже выполнен", {field: "already used"})
    # The user has the code's lifetime again to choose a password.
    if verification.verified_at + (verification.expires_at - verification.sent_at) <= now:
        raise Gone("Время на завершение истекло, начните заново", {field: "expired"})
    verification.consumed_at = now
    return verification
