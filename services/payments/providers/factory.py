"""The card-payment provider chosen by the settings.

Settings read here (to be listed in ``shared/settings.py`` and the README's table):

| variable | default | meaning |
|---|---|---|
| ``PAYMENT_PROVIDER`` | ``sandbox`` | ``sandbox`` (test cards, no money moves; refused in production), ``stripe`` or ``yookassa``. |
| ``STRIPE_API_KEY`` | (empty) | Stripe secret key ``sk_...``; required with ``stripe``. |
| ``STRIPE_WEBHOOK_SECRET`` | (empty) | Signing secret ``whsec_...`` of the Stripe webhook endpoint; required with ``stripe``. |
| ``STRIPE_API_BASE`` | (empty) | Override of https://api.stripe.com (tests point it at a local fake). |
| ``SANDBOX_WEBHOOK_SECRET`` | ``sandbox-dev-secret`` | HMAC key the sandbox signs its events with. |
| ``SANDBOX_FORM_URL`` | ``$PUBLIC_URL/pay/card/{ref}`` | The sandbox's card form, a page of the web cabinet (``{ref}``: its payment id). |
| ``YOOKASSA_SHOP_ID``, ``YOOKASSA_SECRET_KEY`` | (empty) | The ЮKassa shop; required with ``yookassa``. |
| ``YOOKASSA_API_URL`` | ``https://api.yookassa.ru/v3`` | ЮKassa's API (tests: a local fake). |

The sandbox's СБП "bank app" is the web cabinet's page ``$PUBLIC_URL/payments/sandbox-sbp/{ref}``;
ЮKassa brings the customer back to ``$PUBLIC_URL/pay/result/{payment id}``.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Mapping

from services.payments.providers.base import PaymentProvider
from services.payments.providers.sandbox import MemoryStore, SandboxProvider, SandboxStore, WebhookSink

SANDBOX_FORM_PATH = "/pay/card/{ref}"  # the web cabinet's pages
SANDBOX_SBP_PATH = "/payments/sandbox-sbp/{ref}"
RESULT_PATH = "/pay/result/{payment_id}"


def make_provider(config: Mapping[str, Any], *, store: SandboxStore | None = None,
                  on_webhook: WebhookSink | None = None,
                  now: Callable[[], datetime] | None = None) -> PaymentProvider:
    """The provider named by ``PAYMENT_PROVIDER``. The sandbox keeps its state in ``store``
    (the service passes its database-backed one; without it, this process's memory) and
    hands its signed events to ``on_webhook``; ``now`` is the clock for its rules."""
    name = (config.get("PAYMENT_PROVIDER") or "sandbox").strip().lower()
    public_url = (config.get("PUBLIC_URL") or "http://127.0.0.1:8000").rstrip("/")
    if name == "yookassa":
        from services.payments.providers.yookassa_provider import YooKassaProvider  # [payments]

        return YooKassaProvider(config.get("YOOKASSA_SHOP_ID", ""),
                                config.get("YOOKASSA_SECRET_KEY", ""),
                                api_url=config.get("YOOKASSA_API_URL") or "",
                                return_url=public_url + RESULT_PATH, store=store,
                                check_ip=bool(config.get("YOOKASSA_CHECK_IP", True)))
    if name == "stripe":
        from services.payments.providers.stripe_provider import StripeProvider  # needs [payments]

        return StripeProvider(config.get("STRIPE_API_KEY", ""),
                              config.get("STRIPE_WEBHOOK_SECRET", ""),
                              api_base=config.get("STRIPE_API_BASE", ""))
    if name == "sandbox":
        if config.get("NESK_ENV") == "production":
            # Test cards "pay" without money: never in production.
            raise ValueError("PAYMENT_PROVIDER=sandbox is refused when NESK_ENV=production")
        extra: dict[str, Any] = {"now": now} if now is not None else {}
        return SandboxProvider(store if store is not None else MemoryStore(),
                               config.get("SANDBOX_WEBHOOK_SECRET") or "sandbox-dev-secret",
                               form_url=config.get("SANDBOX_FORM_URL") or public_url + SANDBOX_FORM_PATH,
                               sbp_url=public_url + SANDBOX_SBP_PATH,
                               on_webhook=on_webhook, **extra)
    raise ValueError(f"PAYMENT_PROVIDER must be 'sandbox', 'stripe' or 'yookassa', not {name!r}")
