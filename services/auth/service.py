"""The auth service's nameko entrypoints: thin wrappers over domain.flows.AuthFlows."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider

from services.auth.domain import consent
from services.auth.domain.flows import AuthFlows, Deps
from services.auth.domain.sessions import Signer
from services.auth.models import Outbox
from services.auth.models import IdempotencyKey
from shared.clock import ClockProvider
from shared.context import RequestContext
from shared.db import Database
from shared.idempotency import Idempotency, idempotent
from shared.notify import NotifierProvider
from shared.outbox import record_event
from shared.service import OutboxProvider, ServiceBase, rpc
from shared.settings import ConfigurationError, check
from shared.tokens import signing_key, verification_key

MIGRATIONS = Path(__file__).parent / "migrations"


class Keys(DependencyProvider):
    """The token signer, made once per container from the configured (or dev) key pair."""

    def setup(self) -> None:
        config = self.container.config
        check(config)  # refuses CAPTCHA_TEST_ANSWER in production, before anything serves
        if not config.get("SECRET_KEY"):
            raise ConfigurationError("SECRET_KEY is empty")
        consent.document(config["PD_CONSENT_VERSION"])  # no text to show: refuse to start
        self.signer = Signer.from_config(config, signing_key(config))
        self.public_key = verification_key(config)

    def get_dependency(self, worker_ctx: Any) -> "Keys":
        return self


class AuthService(ServiceBase):
    """Users, credentials, sessions, captchas and one-time codes."""

    name = "auth"

    config = Config()
    db = Database("auth", MIGRATIONS)
    outbox = OutboxProvider(Outbox)
    clock = ClockProvider()
    request = RequestContext()
    idempotency = Idempotency(IdempotencyKey)  # Idempotency-Key of creating calls
    notifier = NotifierProvider()
    keys = Keys()

    @property
    def flows(self) -> AuthFlows:
        now = self.clock.now()
        return AuthFlows(Deps(
            db=self.db, config=self.config, now=now, notifier=self.notifier,
            signer=self.keys.signer, public_key=self.keys.public_key,
            client_ip=self.request.client_ip,
            record=lambda event_type, payload: record_event(self.db, Outbox, self.name,
                                                            event_type, payload, now)))

    @rpc
    def consent(self) -> dict[str, Any]:
        """The personal-data consent a new user must accept: version, date, title, text."""
        return self.flows.consent()

    @rpc
    def create_captcha(self) -> dict[str, Any]:
        """A captcha picture (PNG, base64) and its id, for registration and recovery forms."""
        return self.flows.captcha()

    @rpc
    def solve_captcha(self, captcha_id: Any, captcha_answer: Any) -> None:
        """Spends a captcha for another service's form (quick reading submission)."""
        self.flows.solve_captcha(captcha_id, captcha_answer)

    @rpc
    def register_phone(self, phone: Any, captcha_id: Any, captcha_answer: Any) -> dict[str, Any]:
        """Registration by phone, step 1: sends an SMS code."""
        return self.flows.register_phone(phone, captcha_id, captcha_answer)

    @rpc
    def resend_code(self, verification_id: Any) -> dict[str, Any]:
        """Sends a new SMS code for an open challenge after the cooldown."""
        return self.flows.resend_code(verification_id)

    @rpc
    def verify_registration_code(self, verification_id: Any, code: Any) -> dict[str, Any]:
        """Registration by phone, step 2: checks the SMS code."""
        return self.flows.verify_registration_code(verification_id, code)

    @rpc
    @idempotent
    def complete_phone_registration(self, registration_token: Any, password: Any,
                                    password_confirmation: Any, consent_version: Any
                                    ) -> dict[str, Any]:
        """Registration by phone, step 3: password and consent; returns tokens."""
        return self.flows.complete_phone_registration(registration_token, password,
                                                      password_confirmation, consent_version)

    @rpc
    def register_email(self, email: Any, password: Any, password_confirmation: Any,
                       captcha_id: Any, captcha_answer: Any, consent_version: Any
                       ) -> dict[str, Any]:
        """Registration by e-mail: sends a confirmation link."""
        return self.flows.register_email(email, password, password_confirmation, captcha_id,
                                         captcha_answer, consent_version)

    @rpc
    @idempotent
    def confirm_email(self, token: Any) -> dict[str, Any]:
        """Follows the e-mail link: creates the account and returns tokens."""
        return self.flows.confirm_email(token)

    @rpc
    def login(self, phone: Any = None, email: Any = None, password: Any = None) -> dict[str, Any]:
        """Login by phone or e-mail and password; returns tokens."""
        return self.flows.login(phone=phone, email=email, password=password)

    @rpc
    def refresh(self, refresh_token: Any) -> dict[str, Any]:
        """Rotates a refresh token."""
        return self.flows.refresh(refresh_token)

    @rpc
    def logout(self) -> None:
        """Ends the caller's session."""
        self.flows.logout(self.request.principal())

    @rpc
    def forgot_password_phone(self, phone: Any, captcha_id: Any, captcha_answer: Any
                              ) -> dict[str, Any]:
        """Password recovery by SMS, step 1."""
        return self.flows.forgot_password_phone(phone, captcha_id, captcha_answer)

    @rpc
    def reset_password_phone(self, verification_id: Any, code: Any, password: Any,
                             password_confirmation: Any) -> dict[str, Any]:
        """Password recovery by SMS, step 2: code and new password."""
        return self.flows.reset_password_phone(verification_id, code, password,
                                               password_confirmation)

    @rpc
    def forgot_password_email(self, email: Any, captcha_id: Any, captcha_answer: Any
                              ) -> dict[str, Any]:
        """Password recovery by e-mail, step 1: sends a link."""
        return self.flows.forgot_password_email(email, captcha_id, captcha_answer)

    @rpc
    def reset_password_email(self, token: Any, password: Any, password_confirmation: Any
                             ) -> dict[str, Any]:
        """Password recovery by e-mail, step 2: the link's token and a new password."""
        return self.flows.reset_password_email(token, password, password_confirmation)

    @rpc
    def me(self) -> dict[str, Any]:
        """The caller's login data."""
        return self.flows.me(self.request.principal())

    @rpc
    def change_password(self, old_password: Any, new_password: Any,
                        new_password_confirmation: Any) -> dict[str, Any]:
        """Changes the caller's password; other sessions end."""
        return self.flows.change_password(self.request.principal(), old_password, new_password,
                                          new_password_confirmation)

    @rpc
    def change_phone(self, new_phone: Any) -> dict[str, Any]:
        """Sends an SMS code to the caller's new phone number."""
        return self.flows.change_phone(self.request.principal(), new_phone)

    @rpc
    def confirm_phone_change(self, verification_id: Any, code: Any) -> dict[str, Any]:
        """Replaces the caller's phone after the SMS code."""
        return self.flows.confirm_phone_change(self.request.principal(), verification_id, code)

    @rpc
    def change_login_email(self, password: Any, new_email: Any) -> dict[str, Any]:
        """The caller's new login e-mail: a confirmation link to it, a notice to the old one;
        the change takes effect when the link is followed (confirm_login_email)."""
        return self.flows.change_login_email(self.request.principal(), password, new_email)

    @rpc
    def confirm_login_email(self, token: Any) -> dict[str, Any]:
        """The link from the letter to the new address: it becomes the login e-mail."""
        return self.flows.confirm_login_email(token)

    @rpc
    def export_my_data(self) -> dict[str, Any]:
        """Everything auth keeps about the caller (152-ФЗ request)."""
        return self.flows.export(self.request.principal())

    @rpc
    def delete_my_account(self, password: Any) -> dict[str, Any]:
        """Withdraws consent and deletes the caller's account."""
        return self.flows.delete_account(self.request.principal(), password)

    @rpc
    def revocations_since(self, seconds: float) -> list[dict[str, Any]]:
        """Internal (the gateway never routes it): sessions ended and users deleted within the
        last ``seconds``, for a starting service's revocation list (shared.context)."""
        return self.flows.revocations_since(float(seconds))

    @rpc
    @idempotent
    def create_user(self, role: str, password: str, phone: str | None = None,
                    email: str | None = None) -> dict[str, Any]:
        """Creates a user of any role; only an admin may call it."""
        self.request.principal("admin")
        return self.flows.create_staff_user(role, password, phone, email)
