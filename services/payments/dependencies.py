"""The card-payment provider as a nameko dependency: Stripe (one client per container), or
the sandbox or ЮKassa, whose records (the sandbox's payments, ЮKassa's saved cards) live in
this service's database (shared by workers, kept across restarts) through the worker's own
session."""
from __future__ import annotations

from typing import Any

from nameko.extensions import DependencyProvider
from sqlalchemy.orm import Session

from services.payments.models import SandboxIntent
from services.payments.providers.base import PaymentProvider
from services.payments.providers.factory import make_provider
from shared.clock import clock


class DatabaseStore:
    """The sandbox's records as rows of ``sandbox_intents``, in the worker's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, ref: str) -> dict[str, Any] | None:
        row = self.session.get(SandboxIntent, ref)
        return dict(row.data) if row is not None else None

    def put(self, ref: str, value: dict[str, Any]) -> None:
        self.session.merge(SandboxIntent(ref=ref, data=value))
        self.session.flush()


class Providers(DependencyProvider):
    """``self.providers.get(session)``: the configured provider for this worker."""

    def setup(self) -> None:
        self.config = self.container.config
        # Stripe's client is made once; the sandbox and ЮKassa (its saved cards) per worker, on
        # the worker's session.
        self.shared = (make_provider(self.config) if self.config["PAYMENT_PROVIDER"] == "stripe"
                       else None)

    def get_dependency(self, worker_ctx: Any) -> "Providers":
        return self

    def get(self, session: Session) -> PaymentProvider:
        if self.shared is not None:
            return self.shared
        return make_provider(self.config, store=DatabaseStore(session), now=clock.now)
