"""The customer's auth flows, as the manual describes them (РЕГИСТРАЦИЯ, АВТОРИЗАЦИЯ,
«Забыли пароль?», Профиль → Параметры авторизации), plus the personal-data rights.

Each public method is one unit of work: it validates, changes the database, records its
events in the outbox in the same transaction, commits, and only then sends SMS or e-mail.

Registration and recovery never tell a stranger whether a phone or an address is registered,
neither by the answer nor by its timing: both branches do the same work (one argon2 hash
where a password is given, the same rows written, one token signed, one SMS or letter sent);
only the text of the message, which reaches the owner alone, differs.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Mapping

import jwt
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession

from services.auth.domain import captchas, sessions, throttle, verifications
from services.auth.domain.consent import DOCUMENT as CONSENT_DOCUMENT
from services.auth.domain.consent import document as consent_document
from shared.identities import mask_phone, normalize_email, normalize_phone
from services.auth.domain.onetime import new_id
from services.auth.domain.passwords import (check_new_password, hash_password, needs_rehash,
                                            verify_password)
from services.auth.models import Consent, EmailLink, LoginThrottle, User, Verification
from services.auth.models import Session as LoginSession
from shared.errors import (Conflict, Gone, NotFound, ServiceUnavailable, TooManyRequests,
                           Unauthorized, ValidationFailed)
from shared.notify import DeliveryFailed, Notifier
from shared.tokens import ALGORITHM, Principal

REGISTERED = "Вы успешно зарегистрировались"
WRONG_LOGIN = "Неверный логин или пароль"
LINK_INVALID = "Ссылка недействительна"
ROLES = ("customer", "operator", "admin")
LOGIN_EMAIL = "login_email"  # the purpose of the link that changes the login e-mail
LOGIN_EMAIL_CHANGES_HOURLY = 5  # letters to addresses the caller names: bounded
# The SMS of a challenge that no code can pass, by purpose: sent (and re-sent) where a code
# would be, so the sending costs the same and only the phone's owner learns the truth.
NO_CODE_SMS = {
    "register": ("ЛК НЭСК: этот номер уже зарегистрирован. Если вы не помните пароль, "
                 "воспользуйтесь ссылкой «Забыли пароль?»"),
    "reset": ("ЛК НЭСК: запрошено восстановление пароля, но этот номер не зарегистрирован "
              "в личном кабинете. Если это были не вы, ничего делать не нужно."),
}


@dataclass
class Deps:
    db: DbSession
    config: Mapping[str, Any]
    now: datetime
    notifier: Notifier
    signer: sessions.Signer
    public_key: Any
    client_ip: str
    record: Callable[[str, dict[str, Any]], Any]


def user_view(user: User) -> dict[str, Any]:
    return {"id": user.id, "phone": user.phone, "email": user.email, "role": user.role,
            "created_at": user.created_at.isoformat(),
            "phone_confirmed": user.phone_confirmed_at is not None,
            "email_confirmed": user.email_confirmed_at is not None}


class AuthFlows:
    def __init__(self, deps: Deps) -> None:
        self.d = deps
        self.db = deps.db
        self.now = deps.now
        self.sms_policy = verifications.Policy.from_config(deps.config)
        self.login_policy = throttle.Policy.from_config(deps.config)

    # ---- helpers -------------------------------------------------------------------------

    def _captcha(self, captcha_id: object, answer: object) -> None:
        captchas.solve(self.db, captcha_id, answer, self.now, self.d.config["SECRET_KEY"])

    def _new_password(self, password: object, confirmation: object,
                      field: str = "password", confirmation_field: str = "password_confirmation"
                      ) -> str:
        return check_new_password(password, confirmation, self.d.config["PASSWORD_MIN_LENGTH"],
                                  field, confirmation_field)

    def _consent(self, version: object) -> str:
        current = self.d.config["PD_CONSENT_VERSION"]
        if version != current:
            raise ValidationFailed(
                "Необходимо согласие на обработку персональных данных",
                {"consent_version": f"accept the current consent, version {current}"})
        return current

    def _user_by(self, phone: str | None = None, email: str | None = None) -> User | None:
        column, value = (User.phone, phone) if phone else (User.email, email)
        return self.db.scalar(select(User).where(column == value, User.deleted_at.is_(None)))

    def _user(self, principal: Principal) -> User:
        sessions.active(self.db, principal.session_id)
        user = self.db.get(User, principal.user_id)
        if user is None or user.deleted_at is not None:
            raise Unauthorized(sessions.INVALID, {"authorization": "user gone"})
        return user

    def _sms_challenge(self, purpose: str, phone: str, code_text: Callable[[str], str] | None,
                       user_id: str | None = None) -> dict[str, Any]:
        """Open a challenge and text the code (or, when ``code_text`` is None, a challenge no
        code passes and the purpose's NO_CODE_SMS: the same rows and the same one SMS)."""
        verification, code = verifications.start(self.db, self.sms_policy, purpose, phone,
                                                  self.d.client_ip, self.now, user_id=user_id,
                                                  send=code_text is not None)
        self.db.commit()
        self._send_sms(verification, code, code_text, NO_CODE_SMS.get(purpose))
        return self._challenge_view(verification)

    def _send_sms(self, verification: Verification, code: str | None,
                  code_text: Callable[[str], str] | None, other_text: str | None) -> None:
        text = code_text(code) if code and code_text else other_text
        if not text:
            return
        try:
            self.d.notifier.send_sms(verification.phone, text)
        except DeliveryFailed:
            verifications.cancel(self.db, verification)
            self.db.commit()
            raise ServiceUnavailable("Не удалось отправить SMS, попробуйте позже",
                                     {"phone": "SMS delivery failed"})

    def _send_email(self, to: str, subject: str, body: str) -> None:
        try:
            self.d.notifier.send_email(to, subject, body)
        except DeliveryFailed:
            raise ServiceUnavailable("Не удалось отправить письмо, попробуйте позже",
                                     {"email": "e-mail delivery failed"})

    def _challenge_view(self, verification: Any) -> dict[str, Any]:
        return {"verification_id": verification.id, "phone": mask_phone(verification.phone),
                "expires_in": self.sms_policy.ttl, "resend_in": self.sms_policy.cooldown}

    def _link(self, purpose: str, email: str, ttl: int, **fields: Any) -> str:
        link = EmailLink(id=new_id(), purpose=purpose, email=email, client_ip=self.d.client_ip,
                         created_at=self.now, expires_at=self.now + timedelta(seconds=ttl),
                         **fields)
        self.db.add(link)
        return self.d.signer.sign({"typ": purpose, "jti": link.id}, self.now, ttl)

    def _redeem_link(self, token: object, purpose: str) -> EmailLink:
        if not isinstance(token, str) or not token:
            raise ValidationFailed(LINK_INVALID, {"token": "required"})
        try:
            claims = jwt.decode(token, self.d.public_key, algorithms=[ALGORITHM],
                                issuer=self.d.config["JWT_ISSUER"],
                                options={"require": ["exp", "jti", "typ"], "verify_exp": False,
                                         "verify_iat": False})  # checked against self.now
        except jwt.PyJWTError:
            raise ValidationFailed(LINK_INVALID, {"token": "invalid signature or format"})
        if claims["typ"] != purpose:
            raise ValidationFailed(LINK_INVALID, {"token": "wrong purpose"})
        link = self.db.get(EmailLink, claims["jti"], with_for_update=True)
        if link is None or link.purpose != purpose:
            raise ValidationFailed(LINK_INVALID, {"token": "unknown"})
        if link.used_at is not None:
            raise Gone("Ссылка уже использована", {"token": "already used"})
        if link.expires_at <= self.now or claims["exp"] <= self.now.timestamp():
            raise Gone("Срок действия ссылки истёк", {"token": "expired"})
        link.used_at = self.now
        return link

    def _create_user(self, method: str, password_hash: str, phone: str | None = None,
                     email: str | None = None, consent_version: str | None = None,
                     role: str = "customer") -> User:
        user = User(id=new_id(), phone=phone, email=email, password_hash=password_hash, role=role,
                    created_at=self.now, phone_confirmed_at=self.now if phone else None,
                    email_confirmed_at=self.now if email else None)
        self.db.add(user)
        if consent_version:
            self.db.add(Consent(user_id=user.id, document=CONSENT_DOCUMENT,
                                version=consent_version, accepted_at=self.now,
                                client_ip=self.d.client_ip))
        self.d.record("user_registered", {"user_id": user.id, "phone": phone, "email": email,
                                          "role": role, "method": method,
                                          "consent_version": consent_version})
        if method != "admin":
            channel, value = ("phone", phone) if phone else ("email", email)
            self.d.record("contact_confirmed", {"user_id": user.id, "channel": channel,
                                                "value": value})
        return user

    def _signed_in(self, user: User, **extra: Any) -> dict[str, Any]:
        try:
            self.db.flush()
        except IntegrityError:  # the same phone or e-mail registered a moment ago
            self.db.rollback()
            raise Conflict("Этот номер или адрес уже зарегистрирован", {"user": "already registered"})
        tokens = sessions.open_session(self.db, self.d.signer, user, self.now, self.d.client_ip)
        self.db.commit()
        return {**extra, **tokens, "user": user_view(user)}

    def _clear_throttle(self, user: User) -> None:
        for identity in (user.phone, user.email):
            row = self.db.get(LoginThrottle, identity) if identity else None
            if row is not None:
                throttle.succeeded(row)

    def consent(self) -> dict[str, Any]:
        """The consent a new user accepts: its version, date, title and text."""
        return consent_document(self.d.config["PD_CONSENT_VERSION"])

    # ---- captcha -------------------------------------------------------------------------

    def captcha(self) -> dict[str, Any]:
        """A new captcha picture for a registration or recovery form."""
        return captchas.create(self.db, self.now, self.d.config["CAPTCHA_TTL"],
                               self.d.config["SECRET_KEY"], self.d.config["CAPTCHA_TEST_ANSWER"])

    def solve_captcha(self, captcha_id: object, captcha_answer: object) -> None:
        """Check and spend a captcha shown by another service's form."""
        self._captcha(captcha_id, captcha_answer)
        self.db.commit()

    # ---- registration by phone -----------------------------------------------------------

    def register_phone(self, phone: object, captcha_id: object, captcha_answer: object
                       ) -> dict[str, Any]:
        """Step 1: phone and captcha; an SMS code goes to the phone."""
        phone = normalize_phone(phone)
        self._captcha(captcha_id, captcha_answer)
        if self._user_by(phone=phone):
            # Same answer to the caller; only the phone's owner learns it is registered.
            return self._sms_challenge("register", phone, None)
        return self._sms_challenge("register", phone, lambda code: (
            f"ЛК НЭСК: код подтверждения регистрации {code}. Никому его не сообщайте."))

    def resend_code(self, verification_id: object) -> dict[str, Any]:
        """A new SMS code for an open challenge, after the cooldown."""
        verification, code = verifications.resend(self.db, self.sms_policy, verification_id,
                                                  self.d.client_ip, self.now)
        self.db.commit()
        self._send_sms(verification, code, lambda c: (
            f"ЛК НЭСК: код подтверждения {c}. Никому его не сообщайте."),
            NO_CODE_SMS.get(verification.purpose))  # a code-less challenge re-sends its notice
        return self._challenge_view(verification)

    def verify_registration_code(self, verification_id: object, code: object) -> dict[str, Any]:
        """Step 2: the SMS code; returns a one-time token for step 3."""
        verification = verifications.check_code(self.db, self.sms_policy, verification_id, code,
                                                "register", self.now)
        token = verifications.issue_proof(verification, self.sms_policy)
        self.db.commit()
        return {"registration_token": token, "expires_in": self.sms_policy.ttl}

    def complete_phone_registration(self, registration_token: object, password: object,
                                    password_confirmation: object, consent_version: object
                                    ) -> dict[str, Any]:
        """Step 3: password twice and consent; the account is created and signed in."""
        password = self._new_password(password, password_confirmation)
        consent = self._consent(consent_version)
        verification = verifications.redeem_proof(self.db, self.sms_policy, registration_token,
                                                  "register", self.now, "registration_token")
        if self._user_by(phone=verification.phone):
            raise Conflict("Этот номер уже зарегистрирован", {"phone": "already registered"})
        user = self._create_user("phone", hash_password(password), phone=verification.phone,
                                 consent_version=consent)
        return self._signed_in(user, message=REGISTERED)

    # ---- registration by e-mail ----------------------------------------------------------

    def register_email(self, email: object, password: object, password_confirmation: object,
                       captcha_id: object, captcha_answer: object, consent_version: object
                       ) -> dict[str, Any]:
        """E-mail, password twice, captcha, consent; a confirmation link goes by e-mail."""
        email = normalize_email(email)
        password = self._new_password(password, password_confirmation)
        consent = self._consent(consent_version)
        self._captcha(captcha_id, captcha_answer)
        ttl = self.d.config["EMAIL_LINK_TTL"]
        user = self._user_by(email=email)
        password_hash = hash_password(password)  # for a registered address too: same time
        if user is not None:
            # The owner gets a notice with a reset link: the same row, token and letter as
            # the registration link below, so the answer's timing tells nothing.
            token = self._link("password_reset", email, ttl, user_id=user.id)
            self.db.commit()
            url = f"{self.d.config['PUBLIC_URL']}/reset-password?token={token}"
            self._send_email(email, "Регистрация в личном кабинете НЭСК", (
                "Этот адрес уже зарегистрирован в личном кабинете. Если вы не помните пароль, "
                f"задайте новый по ссылке:\n{url}\n\n"
                "Если вы не регистрировались, просто удалите это письмо."))
        else:
            token = self._link("email_register", email, ttl, password_hash=password_hash,
                               consent_version=consent)
            self.db.commit()
            url = f"{self.d.config['PUBLIC_URL']}/register/email/confirm?token={token}"
            self._send_email(email, "Подтверждение регистрации в личном кабинете НЭСК", (
                "Вы зарегистрировались в личном кабинете АО «НЭСК».\n"
                f"Для завершения регистрации перейдите по ссылке:\n{url}\n\n"
                f"Ссылка действует {ttl // 3600} ч. Если вы не регистрировались, "
                "просто удалите это письмо."))
        return {"message": f"{REGISTERED}. Для завершения регистрации перейдите по ссылке "
                           "из письма, отправленного на указанный адрес", "email": email}

    def confirm_email(self, token: object) -> dict[str, Any]:
        """The link from the e-mail: confirms the address, creates the account, signs in."""
        link = self._redeem_link(token, "email_register")
        if self._user_by(email=link.email):
            self.db.commit()
            raise Conflict("Этот адрес уже зарегистрирован, войдите с паролем",
                           {"token": "already registered"})
        user = self._create_user("email", link.password_hash, email=link.email,
                                 consent_version=link.consent_version)
        return self._signed_in(user, message="Адрес электронной почты подтверждён")

    # ---- login, refresh, logout ----------------------------------------------------------

    def login(self, phone: object = None, email: object = None, password: object = None
              ) -> dict[str, Any]:
        """Login by phone or by e-mail with the password."""
        if phone and email:
            raise ValidationFailed("Укажите телефон или e-mail, не оба", {"email": "give one"})
        identity = normalize_phone(phone) if phone else normalize_email(email)
        if not isinstance(password, str) or not password:
            raise ValidationFailed("Введите пароль", {"password": "required"})
        throttle.check_address(self.db, self.login_policy, self.d.client_ip, self.now)
        row = throttle.check(self.db, self.login_policy, identity, self.now)
        user = self._user_by(phone=identity) if phone else self._user_by(email=identity)
        if not verify_password(user.password_hash if user else None, password):
            if throttle.address_failed(self.db, self.login_policy, self.d.client_ip, self.now):
                throttle.failed(row, self.login_policy, self.now)
            self.db.commit()
            raise Unauthorized(WRONG_LOGIN, {"password": "wrong login or password"})
        throttle.succeeded(row)
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        return self._signed_in(user)

    def refresh(self, refresh_token: object) -> dict[str, Any]:
        """A new token pair for a valid refresh token; a reused one ends the session."""
        tokens = sessions.refresh(self.db, self.d.signer, refresh_token, self.now, self.d.record)
        self.db.commit()
        return tokens

    def logout(self, principal: Principal) -> None:
        """End the caller's session: its refresh tokens stop working at once."""
        session = sessions.active(self.db, principal.session_id)
        sessions.revoke(self.db, session, self.now, "logout")
        self._revoked(session.user_id, [session.id], "logout")
        self.db.commit()

    def _revoked(self, user_id: str, session_ids: list[str], reason: str,
                 user_deleted: bool = False) -> None:
        """Tell every service to refuse these sessions' access tokens from now on."""
        if session_ids or user_deleted:
            self.d.record("sessions_revoked", sessions.revocation(
                user_id, session_ids, reason, self.now, user_deleted))

    def revocations_since(self, seconds: float) -> list[dict[str, Any]]:
        """What was revoked within the last ``seconds`` (a starting service's catch-up)."""
        return sessions.revocations_since(self.db, self.now - timedelta(seconds=seconds))

    # ---- «Забыли пароль?» ----------------------------------------------------------------

    def forgot_password_phone(self, phone: object, captcha_id: object, captcha_answer: object
                              ) -> dict[str, Any]:
        """Recovery by SMS: a code goes to the phone if it is registered (the reply is the same)."""
        phone = normalize_phone(phone)
        self._captcha(captcha_id, captcha_answer)
        user = self._user_by(phone=phone)
        # An unknown number gets NO_CODE_SMS["reset"]: one SMS either way, same timing.
        return self._sms_challenge("reset", phone, (lambda code: (
            f"ЛК НЭСК: код для восстановления пароля {code}. Никому его не сообщайте."))
            if user else None, user_id=user.id if user else None)

    def reset_password_phone(self, verification_id: object, code: object, password: object,
                             password_confirmation: object) -> dict[str, Any]:
        """The SMS code and a new password; every session of the user ends."""
        password = self._new_password(password, password_confirmation)
        verification = verifications.check_code(self.db, self.sms_policy, verification_id, code,
                                                "reset", self.now)
        verification.consumed_at = self.now
        user = self.db.get(User, verification.user_id) if verification.user_id else None
        if user is None or user.deleted_at is not None:
            self.db.commit()
            raise NotFound("Запросите код заново", {"verification_id": "unknown"})
        return self._reset(user, password)

    def forgot_password_email(self, email: object, captcha_id: object, captcha_answer: object
                              ) -> dict[str, Any]:
        """Recovery by e-mail: a reset link if the address is registered (the reply is the same)."""
        email = normalize_email(email)
        self._captcha(captcha_id, captcha_answer)
        user = self._user_by(email=email)
        ttl = self.d.config["EMAIL_LINK_TTL"]
        # The same row and token for an unknown address (user_id None: it can reset nothing,
        # and it is never sent), and one letter either way: the timing tells nothing.
        token = self._link("password_reset", email, ttl, user_id=user.id if user else None)
        self.db.commit()
        if user is not None:
            url = f"{self.d.config['PUBLIC_URL']}/reset-password?token={token}"
            self._send_email(email, "Восстановление пароля в личном кабинете НЭСК", (
                f"Чтобы задать новый пароль, перейдите по ссылке:\n{url}\n\n"
                "Если вы не запрашивали восстановление, просто удалите это письмо."))
        else:
            self._send_email(email, "Восстановление пароля в личном кабинете НЭСК", (
                "Для этого адреса запрошено восстановление пароля, но он не зарегистрирован "
                "в личном кабинете АО «НЭСК». Зарегистрироваться можно по ссылке:\n"
                f"{self.d.config['PUBLIC_URL']}/register\n\n"
                "Если вы ничего не запрашивали, просто удалите это письмо."))
        return {"message": "Если адрес зарегистрирован, на него отправлено письмо со ссылкой "
                           "для восстановления пароля"}

    def reset_password_email(self, token: object, password: object,
                             password_confirmation: object) -> dict[str, Any]:
        """The link's token and a new password; every session of the user ends."""
        password = self._new_password(password, password_confirmation)
        link = self._redeem_link(token, "password_reset")
        user = self.db.get(User, link.user_id) if link.user_id else None
        if user is None or user.deleted_at is not None:
            self.db.commit()
            raise Gone(LINK_INVALID, {"token": "account deleted"})
        return self._reset(user, password)

    def _reset(self, user: User, password: str) -> dict[str, Any]:
        user.password_hash = hash_password(password)
        user.password_changed_at = self.now
        self._revoked(user.id, sessions.revoke_all(self.db, user.id, self.now, "password reset"),
                      "password_reset")
        self._clear_throttle(user)
        self.d.record("password_changed", {"user_id": user.id, "reason": "reset"})
        self.db.commit()
        return {"message": "Пароль изменён. Войдите с новым паролем"}

    # ---- Профиль → Параметры авторизации -------------------------------------------------

    def me(self, principal: Principal) -> dict[str, Any]:
        return user_view(self._user(principal))

    def change_password(self, principal: Principal, old_password: object, new_password: object,
                        new_password_confirmation: object) -> dict[str, Any]:
        """Old password, new one twice; other sessions end, this one stays."""
        user = self._user(principal)
        if not verify_password(user.password_hash, old_password):
            raise ValidationFailed("Старый пароль введён неверно", {"old_password": "wrong"})
        password = self._new_password(new_password, new_password_confirmation,
                                      "new_password", "new_password_confirmation")
        if verify_password(user.password_hash, password):
            raise ValidationFailed("Новый пароль совпадает со старым", {"new_password": "unchanged"})
        user.password_hash = hash_password(password)
        user.password_changed_at = self.now
        self._revoked(user.id, sessions.revoke_all(self.db, user.id, self.now, "password changed",
                                                   keep=principal.session_id), "password_change")
        self.d.record("password_changed", {"user_id": user.id, "reason": "change"})
        self.db.commit()
        return {"message": "Пароль изменён"}

    def change_phone(self, principal: Principal, new_phone: object) -> dict[str, Any]:
        """A code goes by SMS to the new number ("Подтвердить через SMS")."""
        user = self._user(principal)
        phone = normalize_phone(new_phone, "new_phone")
        if phone == user.phone:
            raise ValidationFailed("Это ваш текущий номер", {"new_phone": "unchanged"})
        return self._sms_challenge("change_phone", phone, lambda code: (
            f"ЛК НЭСК: код для смены номера телефона {code}. Никому его не сообщайте."),
            user_id=user.id)

    def confirm_phone_change(self, principal: Principal, verification_id: object, code: object
                             ) -> dict[str, Any]:
        user = self._user(principal)
        verification = verifications.check_code(self.db, self.sms_policy, verification_id, code,
                                                "change_phone", self.now, user_id=user.id)
        verification.consumed_at = self.now
        if self._user_by(phone=verification.phone):
            self.db.commit()
            raise Conflict("Этот номер привязан к другому личному кабинету",
                           {"new_phone": "already registered"})
        old = user.phone
        user.phone, user.phone_confirmed_at = verification.phone, self.now
        self.d.record("phone_changed", {"user_id": user.id, "old_phone": old,
                                        "new_phone": user.phone})
        self.d.record("contact_confirmed", {"user_id": user.id, "channel": "phone",
                                            "value": user.phone})
        self.db.commit()
        return {"message": "Номер телефона изменён", "user": user_view(user)}

    # ---- Профиль → Параметры авторизации: the login e-mail -------------------------------

    def change_login_email(self, principal: Principal, password: object, new_email: object
                           ) -> dict[str, Any]:
        """The current password and a new login address: a link goes to the new address, a
        notice to the old one; nothing changes until the link is followed.

        Whether the new address belongs to another user is told only to that address's
        owner, by the letter's text: the caller gets the same answer after the same work
        (one password check, one link row, one signed token, the same letters) either way."""
        user = self._user(principal)
        if not verify_password(user.password_hash, password):
            raise ValidationFailed("Пароль введён неверно", {"password": "wrong"})
        email = normalize_email(new_email, "new_email")
        if email == user.email:
            raise ValidationFailed("Это ваш текущий адрес для входа", {"new_email": "unchanged"})
        since = self.now - timedelta(hours=1)
        if self.db.scalar(select(func.count()).select_from(EmailLink).where(
                EmailLink.purpose == LOGIN_EMAIL, EmailLink.user_id == user.id,
                EmailLink.created_at > since)) >= LOGIN_EMAIL_CHANGES_HOURLY:
            raise TooManyRequests("Слишком много писем для смены адреса, попробуйте через час",
                                  {"new_email": "hourly limit"}, retry_after=3600)
        taken = self._user_by(email=email) is not None
        ttl = self.d.config["EMAIL_LINK_TTL"]
        token = self._link(LOGIN_EMAIL, email, ttl, user_id=user.id)
        self.db.commit()
        public = self.d.config["PUBLIC_URL"]
        subject = "Адрес для входа в личный кабинет НЭСК"
        if taken:  # no link: it could never succeed; only this address's owner reads why
            self._send_email(email, subject, (
                "Этот адрес хотели указать для входа в личный кабинет АО «НЭСК», но он уже "
                "используется для входа в другой личный кабинет. Ничего не изменено.\n"
                f"Если вы не помните пароль, задайте новый: {public}/forgot\n\n"
                "Если вы ничего не меняли, просто удалите это письмо."))
        else:
            self._send_email(email, subject, (
                "Этот адрес указан для входа в личный кабинет АО «НЭСК». Чтобы подтвердить "
                f"его, перейдите по ссылке:\n{public}/profile/login-email/confirm?token={token}\n\n"
                f"Ссылка действует {ttl // 3600} ч. Если вы ничего не меняли, просто удалите "
                "это письмо."))
        if user.email:
            self._send_email(user.email, "Смена адреса для входа в личный кабинет НЭСК", (
                "В вашем личном кабинете АО «НЭСК» запрошена смена адреса электронной почты "
                f"для входа на {email}. Адрес изменится, когда по ссылке из письма на новый "
                "адрес перейдут.\n"
                "Если это были не вы, смените пароль в личном кабинете или восстановите его: "
                f"{public}/forgot — ссылка на смену адреса перестанет действовать."))
        return {"message": "На новый адрес отправлено письмо со ссылкой. Адрес для входа "
                           "изменится, когда вы перейдёте по ней", "email": email}

    def confirm_login_email(self, token: object) -> dict[str, Any]:
        """The link from the letter to the new address: it becomes the login e-mail. A link
        made before the password's last change or reset no longer works (the owner's way to
        stop a change they did not ask for)."""
        link = self._redeem_link(token, LOGIN_EMAIL)
        user = self.db.get(User, link.user_id) if link.user_id else None
        if user is None or user.deleted_at is not None:
            self.db.commit()
            raise Gone(LINK_INVALID, {"token": "account deleted"})
        if user.password_changed_at is not None and link.created_at < user.password_changed_at:
            self.db.commit()
            raise Gone("Ссылка больше не действует: пароль изменён после её отправки",
                       {"token": "password changed since"})
        other = self._user_by(email=link.email)
        if other is not None and other.id != user.id:
            self.db.commit()
            raise Conflict("Этот адрес уже используется для входа в другой личный кабинет",
                           {"token": "address taken"})
        old = user.email
        if old != link.email:
            user.email = link.email
            user.email_confirmed_at = self.now
            self.d.record("login_email_changed", {"user_id": user.id, "old_email": old,
                                                  "new_email": user.email})
            self.d.record("contact_confirmed", {"user_id": user.id, "channel": "email",
                                                "value": user.email})
        try:
            self.db.commit()
        except IntegrityError:  # the address was registered a moment ago
            self.db.rollback()
            raise Conflict("Этот адрес уже используется для входа в другой личный кабинет",
                           {"token": "address taken"})
        return {"message": "Адрес для входа изменён", "email": user.email,
                "user": user_view(user)}

    # ---- personal data (152-ФЗ) ----------------------------------------------------------

    def export(self, principal: Principal) -> dict[str, Any]:
        """Everything the auth service keeps about the caller, as JSON."""
        user = self._user(principal)
        consents = self.db.scalars(select(Consent).where(Consent.user_id == user.id))
        login_sessions = self.db.scalars(select(LoginSession).where(
            LoginSession.user_id == user.id).order_by(LoginSession.created_at))
        return {
            "user": {**user_view(user), "password_changed_at":
                     user.password_changed_at.isoformat() if user.password_changed_at else None},
            "consents": [{"document": c.document, "version": c.version,
                          "accepted_at": c.accepted_at.isoformat(), "client_ip": c.client_ip,
                          "withdrawn_at": c.withdrawn_at.isoformat() if c.withdrawn_at else None}
                         for c in consents],
            "sessions": [{"created_at": s.created_at.isoformat(), "client_ip": s.client_ip,
                          "last_used_at": s.last_used_at.isoformat(),
                          "ended_at": s.revoked_at.isoformat() if s.revoked_at else None}
                         for s in login_sessions],
            "exported_at": self.now.isoformat(),
        }

    def delete_account(self, principal: Principal, password: object) -> dict[str, Any]:
        """Withdraw consent and delete the account: contacts erased, sessions ended, the other
        services told (they keep only what the law requires, such as payments)."""
        user = self._user(principal)
        if not verify_password(user.password_hash, password):
            raise ValidationFailed("Пароль введён неверно", {"password": "wrong"})
        for consent in self.db.scalars(select(Consent).where(
                Consent.user_id == user.id, Consent.withdrawn_at.is_(None))):
            consent.withdrawn_at = self.now
        for identity in (user.phone, user.email):
            if identity and (row := self.db.get(LoginThrottle, identity)):
                self.db.delete(row)
        user.phone = user.email = None
        user.password_hash = ""
        user.deleted_at = self.now
        ended = sessions.revoke_all(self.db, user.id, self.now, "account deleted")
        # Before user_deleted in the outbox: services refuse the user's tokens before (or
        # while) they erase the user's data, so little can be written after the erasure.
        self._revoked(user.id, ended, "user_deleted", user_deleted=True)
        self.d.record("user_deleted", {"user_id": user.id})
        self.db.commit()
        return {"message": "Учётная запись удалена"}

    # ---- administration ------------------------------------------------------------------

    def create_staff_user(self, role: str, password: str, phone: str | None = None,
                          email: str | None = None) -> dict[str, Any]:
        """An operator or admin (or customer) made by the command line, contacts trusted."""
        if role not in ROLES:
            raise ValidationFailed(f"Роль — одна из: {', '.join(ROLES)}", {"role": "unknown"})
        if not phone and not email:
            raise ValidationFailed("Укажите телефон или e-mail", {"email": "required"})
        phone = normalize_phone(phone) if phone else None
        email = normalize_email(email) if email else None
        password = self._new_password(password, password)
        taken = [User.phone == phone] if phone else []
        taken += [User.email == email] if email else []
        if self.db.scalar(select(User).where(or_(*taken))):
            raise Conflict("Пользователь с таким телефоном или e-mail уже есть", {"email": "taken"})
        user = self._create_user("admin", hash_password(password), phone=phone, email=email,
                                 role=role)
        self.db.commit()
        return user_view(user)
