"""The payments service's nameko entrypoints: ОПЛАТА ЗАДОЛЖЕННОСТИ И(ИЛИ) ПЕНИ, the Платежи
tabs of ИСТОРИЯ, the header balance; charges from billing and the built-in accrual."""
from __future__ import annotations

import base64
import binascii
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Callable

from nameko.dependency_providers import Config
from nameko.timer import timer
from sqlalchemy import select

from services.payments.dependencies import Providers
from services.payments.domain import (accrual, autopay, calendar, erasure, history, ledger,
                                      receipts, tariffs)
from services.payments.domain.checkout import Checkout
from services.payments.domain.key_rates import DEFAULT_PATH, load_key_rates
from services.payments.models import (AccountGrant, AccountGrantsLoad, Customer, LedgerAccount,
                                      Link, Outbox, Payment, ProcessedEvent)
from services.payments.providers.base import InvalidCard, ProviderError, SignatureInvalid
from services.payments.models import IdempotencyKey
from shared.clock import ClockProvider
from shared.consumers import reliable_event_handler
from shared.context import RequestContext
from shared.db import Database
from shared.deadlines import RpcProxy
from shared.errors import (BadRequest, Conflict, NotFound, ServiceUnavailable, Unauthorized,
                           ValidationFailed)
from shared.events import parse_envelope
from shared.grants import GrantsMixin
from shared.idempotency import Idempotency, idempotent
from shared.service import OutboxProvider, ServiceBase, rpc

MIGRATIONS = Path(__file__).parent / "migrations"
HOURLY = 3600
MAX_PAYMENT = Decimal("1000000.00")


def parse_amount(value: object, field: str) -> Decimal:
    """A positive sum of roubles with at most two decimals, or a clear error."""
    try:
        amount = Decimal(str(value)) if not isinstance(value, (bool, float)) else None
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        raise ValidationFailed("Сумма — рубли с копейками, например 1234.50",
                               {field: "roubles with at most 2 decimals"})
    if not Decimal("0.01") <= amount <= MAX_PAYMENT:
        raise ValidationFailed("Сумма должна быть больше нуля и не больше 1 000 000 ₽",
                               {field: "from 0.01 to 1000000.00"})
    return amount


def parse_day(value: object, field: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValidationFailed("Дата в формате ГГГГ-ММ-ДД", {field: "YYYY-MM-DD"}) from None


class PaymentsService(GrantsMixin, ServiceBase):
    """Charges, debt and penalties per account; card payments through a provider."""

    name = "payments"
    processed_events = ProcessedEvent
    grant_model = AccountGrant
    grants_load_model = AccountGrantsLoad

    config = Config()
    db = Database("payments", MIGRATIONS)
    outbox = OutboxProvider(Outbox)
    clock = ClockProvider()
    request = RequestContext()
    idempotency = Idempotency(IdempotencyKey)  # Idempotency-Key of creating calls
    providers = Providers()
    accounts = RpcProxy("accounts")

    # ---- helpers -------------------------------------------------------------------------

    def _rates(self):  # type: ignore[no-untyped-def]
        return load_key_rates(self.config["KEY_RATES_FILE"] or DEFAULT_PATH)

    def _statement(self) -> ledger.Statement:
        return ledger.Statement(self.work(), self._rates())

    def _checkout(self) -> Checkout:
        return Checkout(self.work(), self.providers.get(self.db), self.config)

    def _account(self, account_id: Any, need: str = "read") -> LedgerAccount:
        """Accounts' ownership rule, decided on payments' copy of the grants
        (shared/grants.py). The tariff category follows accounts' and billing's events (and
        accounts' answer when it was asked now)."""
        access = self.allowed(account_id, need)
        account = ledger.ensure_account(self.db, access["number"], access["branch"], account_id,
                                        access.get("tariff_category"))
        self.db.commit()
        return account

    def _user_accounts(self, user_id: str) -> list[LedgerAccount]:
        links = list(self.db.scalars(select(Link).where(Link.user_id == user_id)
                                     .order_by(Link.account_id)))
        # Read only (the header asks on every page): an account the ledger has not seen yet
        # stands in unsaved, with nothing charged or paid.
        return [ledger.find_account(self.db, link.number, link.branch)
                or LedgerAccount(number=link.number, branch=link.branch,
                                 account_id=link.account_id, tariff_category="urban")
                for link in links]

    # ---- what is due ---------------------------------------------------------------------

    @rpc
    def estimate(self, account_id: Any, period: Any, consumption: Any) -> dict[str, Any]:
        """The charge for a month's consumption at the account's tariff (the readings form)."""
        account = self._account(account_id)
        try:
            year, month = (int(x) for x in str(period).split("-"))
            day = date(year, month, 1)
        except ValueError:
            raise ValidationFailed("Период в формате ГГГГ-ММ", {"period": "YYYY-MM"}) from None
        table = tariffs.load(self.config["TARIFFS_FILE"])
        return tariffs.charge_for(tariffs.tariff_on(table, account.tariff_category, day),
                                  consumption, day.month)

    @rpc
    def statement(self, account_id: Any) -> dict[str, Any]:
        """ОПЛАТА: the account's debt by period, penalties, and the sum to prefill."""
        return self._statement().of(self._account(account_id))

    @rpc
    def penalty_details(self, account_id: Any, pay_on: Any = None) -> dict[str, Any]:
        """How the penalty is computed (per overdue charge: days, fraction, rate, base) and
        what it will be if the debt is paid on ``pay_on`` (today by default)."""
        account = self._account(account_id)
        today = self.clock.now().date()
        day = parse_day(pay_on, "pay_on") or today
        if day < today:
            raise ValidationFailed("Дата оплаты не может быть в прошлом", {"pay_on": "in the past"})
        return self._statement().penalty_details(account, day)

    @rpc
    def my_debt(self) -> dict[str, Any]:
        """Debt and penalties over all the caller's accounts (the header and «все счета»)."""
        user_id = self.request.principal().user_id
        statement = self._statement()
        rows = [statement.of(account) for account in self._user_accounts(user_id)]
        total = {key: ledger.money(sum((Decimal(r[key]) for r in rows), Decimal("0")))
                 for key in ("debt", "penalties", "to_pay", "advance")}
        return {"accounts": [{k: r[k] for k in ("account_id", "number", "branch", "debt",
                                                 "penalties", "to_pay", "advance")}
                             for r in rows], **total}

    # ---- for the documents service (bills) -----------------------------------------------

    def _ledger(self, number: Any, branch: Any) -> LedgerAccount | None:
        return ledger.find_account(self.db, str(number), str(branch))

    @rpc
    def bill_amounts(self, number: Any, branch: Any, period: Any) -> dict[str, Any]:
        """Internal, for the documents service only (the gateway never routes it; documents
        has checked the caller's access first): what the bill for ``period`` prints — the
        charge and its lines (kWh, price, amount per zone or range), the debt at the start,
        penalties as of today, the total to pay and the due date."""
        try:
            calendar.parse_period(period)
        except ValueError:
            raise ValidationFailed("Период в формате ГГГГ-ММ", {"period": "YYYY-MM"}) from None
        account = self._ledger(number, branch)
        if account is None:
            raise NotFound("За этот период нет начислений", {"period": "no charge for this period"})
        return self._statement().bill(account, period)

    @rpc
    def billed_periods(self, number: Any, branch: Any) -> list[dict[str, Any]]:
        """Internal, for the documents service only (see bill_amounts): the periods with a
        charge, newest first."""
        account = self._ledger(number, branch)
        return self._statement().billed_periods(account) if account is not None else []

    # ---- paying --------------------------------------------------------------------------

    def _items(self, items: Any) -> tuple[list[tuple[LedgerAccount, str, Decimal, str | None]],
                                          dict[int, list[Any]]]:
        """The checked lines (account, kind, amount, period) and each account's open charges
        (per ledger id: what a line without a period pays, named on the receipt)."""
        if not isinstance(items, list) or not 1 <= len(items) <= 20:
            raise ValidationFailed("Выберите, что оплатить", {"items": "1 to 20 items"})
        statement, checked, seen = self._statement(), [], set()
        positions: dict[int, dict[str, Any]] = {}
        for index, item in enumerate(items):
            field = f"items[{index}]"
            if not isinstance(item, dict):
                raise ValidationFailed("Неверная строка оплаты", {field: "an object"})
            account = self._account(item.get("account_id"), "full")
            kind = item.get("kind")
            if kind not in ("electricity", "penalty"):
                raise ValidationFailed("Оплачивается электроэнергия или пени",
                                       {f"{field}.kind": "electricity or penalty"})
            period = item.get("period")
            if period is not None and kind == "penalty":
                raise ValidationFailed("Пени оплачиваются без периода",
                                       {f"{field}.period": "not for penalties"})
            amount = parse_amount(item.get("amount"), f"{field}.amount")
            position = positions.get(account.id) or statement.of(account)
            positions[account.id] = position
            if period is not None and period not in {p["period"] for p in position["periods"]}:
                raise ValidationFailed("За этот период нет начислений",
                                       {f"{field}.period": "no charge for this period"})
            if kind == "penalty" and amount > Decimal(position["penalties"]):
                raise ValidationFailed(f"Пени к оплате: {position['penalties']} ₽",
                                       {f"{field}.amount": f"at most {position['penalties']}"})
            if (account.id, kind, period) in seen:
                raise ValidationFailed("Одна и та же строка дважды", {field: "duplicate"})
            seen.add((account.id, kind, period))
            checked.append((account, kind, amount, period))
        return checked, {key: receipts.open_charges(position["periods"])
                         for key, position in positions.items()}

    def _customer(self, user_id: str) -> str:
        provider = self.providers.get(self.db)
        row = self.db.get(Customer, (user_id, provider.name))
        if row is None:
            ref = self._provider_call(lambda: provider.ensure_customer(user_id, None))
            row = Customer(user_id=user_id, provider=provider.name, customer_ref=ref)
            self.db.add(row)
            self.db.commit()
        return row.customer_ref

    @staticmethod
    def _provider_call(call: Callable[[], Any]) -> Any:
        try:
            return call()
        except InvalidCard as exc:
            raise ValidationFailed(exc.message, {exc.field: exc.code}) from None
        except ProviderError as exc:
            if exc.code in ("provider_unavailable",):
                raise ServiceUnavailable("Платёжный сервис недоступен, попробуйте позже",
                                         {"provider": exc.code}) from None
            raise Conflict(exc.message, {"payment": exc.code}) from None

    @rpc
    @idempotent
    def pay(self, idempotency_key: Any, items: Any, save_card: Any = False,
            card_ref: Any = None, method: Any = "card", receipt_email: Any = None,
            receipt_phone: Any = None) -> dict[str, Any]:
        """Start a payment of debt and/or penalties over one or several accounts, by card or
        СБП (``method``), its 54-ФЗ receipt sent to ``receipt_email``/``receipt_phone``. The
        same ``idempotency_key`` (one per form) gives back the same payment: a double click
        pays once. With ``card_ref`` a saved card is charged at once."""
        user_id = self.request.principal().user_id
        if not isinstance(idempotency_key, str) or not 8 <= len(idempotency_key) <= 64:
            raise ValidationFailed("Нужен ключ платежа", {"idempotency_key": "8 to 64 characters"})
        provider = self.providers.get(self.db)
        method = "card" if method is None else method
        if method not in provider.methods:
            raise ValidationFailed("Этот способ оплаты недоступен",
                                   {"method": f"one of {', '.join(provider.methods)}"})
        if method != "card" and (save_card is True or card_ref is not None):
            raise ValidationFailed("Сохранить карту и автоплатёж можно только при оплате картой",
                                   {"method": "card only with save_card or card_ref"})
        contact = receipts.contact(receipt_email, receipt_phone,
                                   provider.receipts and provider.receipt_contact_required)
        checked, debts = self._items(items)
        customer = None
        if save_card is True or card_ref is not None:
            customer = self._customer(user_id)
        if card_ref is not None and card_ref not in {c["ref"] for c in self._cards(user_id)}:
            raise NotFound("Карта не найдена", {"card_ref": "not one of your cards"})
        checkout = self._checkout()
        payment = self._provider_call(lambda: checkout.create(
            user_id, idempotency_key, checked, source="saved_card" if card_ref else "card",
            save_card=save_card is True, customer_ref=customer, saved_card_ref=card_ref,
            method=method, receipt_contact=contact, debts=debts))
        return checkout.view(payment)

    def _own_payment(self, payment_id: Any) -> Payment:
        user_id = self.request.principal().user_id
        payment = self.db.get(Payment, payment_id) if isinstance(payment_id, str) else None
        if payment is None or payment.user_id != user_id:
            raise NotFound("Платёж не найден", {"payment_id": "unknown"})
        return payment

    @rpc
    def payment(self, payment_id: Any) -> dict[str, Any]:
        """One of the caller's payments, asking the provider if it is still open."""
        return self._current_view(self._own_payment(payment_id))

    def _current_view(self, payment: Payment) -> dict[str, Any]:
        """The payment as the provider sees it now (if still open), with its refunds."""
        checkout = self._checkout()
        if payment.status in ("pending", "created") and payment.provider_ref:
            try:
                checkout.apply_intent(payment, checkout.provider.retrieve(payment.provider_ref))
            except ProviderError:
                pass  # the provider is away: show what we know
        checkout.refresh_receipts(payment)
        view = checkout.view(payment)
        view["refunds"] = checkout.refunds_of(payment)
        return view

    def _sandbox_payment(self, provider_ref: Any) -> tuple[Payment, Any]:
        provider = self.providers.get(self.db)
        if provider.name != "sandbox":
            raise NotFound("Тестовая платёжная форма выключена", {"provider": "not sandbox"})
        user_id = self.request.principal().user_id
        payment = self.db.scalar(select(Payment).where(Payment.provider_ref == provider_ref)) \
            if isinstance(provider_ref, str) else None
        if payment is None or payment.user_id != user_id:
            raise NotFound("Платёж не найден", {"provider_ref": "unknown"})
        return payment, provider

    @rpc
    def sandbox_payment(self, provider_ref: Any) -> dict[str, Any]:
        """The sandbox's payment pages (make run), opened maybe on another device (the СБП QR
        code): the caller's payment by the sandbox's reference, as GET /payments/{id}."""
        payment, _ = self._sandbox_payment(provider_ref)
        return self._current_view(payment)

    @rpc
    def sandbox_card(self, provider_ref: Any, card_number: Any, exp_month: Any, exp_year: Any,
                     cvc: Any) -> dict[str, Any]:
        """The sandbox's card form (make run): 4242 4242 4242 4242 pays, 4000 0000 0000 0002
        is declined, 4000 0027 6000 3184 asks for 3-D Secure (code 111111)."""
        payment, provider = self._sandbox_payment(provider_ref)
        intent = self._provider_call(lambda: provider.pay_with_card(
            payment.provider_ref, str(card_number), exp_month, exp_year, str(cvc),
            save_card=payment.save_card))
        checkout = self._checkout()
        checkout.apply_intent(payment, intent)
        return checkout.view(payment)

    @rpc
    def sandbox_3ds(self, provider_ref: Any, code: Any) -> dict[str, Any]:
        """The sandbox's 3-D Secure page: the code from the "bank"."""
        payment, provider = self._sandbox_payment(provider_ref)
        intent = self._provider_call(lambda: provider.confirm_3ds(payment.provider_ref, str(code)))
        checkout = self._checkout()
        checkout.apply_intent(payment, intent)
        return checkout.view(payment)

    @rpc
    def sandbox_sbp(self, provider_ref: Any, approve: Any) -> dict[str, Any]:
        """The sandbox's СБП "bank app" (make run): the payer confirms (``approve`` true) or
        declines the payment."""
        if not isinstance(approve, bool):
            raise ValidationFailed("Подтвердите или отклоните оплату", {"approve": "true or false"})
        payment, provider = self._sandbox_payment(provider_ref)
        intent = self._provider_call(lambda: provider.approve_sbp(payment.provider_ref, approve))
        checkout = self._checkout()
        checkout.apply_intent(payment, intent)
        return checkout.view(payment)

    @rpc
    def webhook(self, provider: Any, body: Any, headers: Any) -> dict[str, Any]:
        """A provider's notification (the gateway passes the raw body, the signature headers
        and the sender's address); the signature is checked (ЮKassa signs none: the payment
        is read back from its API), and an event is applied once, whatever the order."""
        current = self.providers.get(self.db)
        if provider != current.name:
            raise NotFound("Неизвестный платёжный провайдер", {"provider": "not configured"})
        try:
            raw = base64.b64decode(str(body), validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest("Тело уведомления повреждено", {"body": "not base64"}) from None
        try:
            event = current.parse_webhook(raw, dict(headers or {}))
        except SignatureInvalid as exc:
            raise Unauthorized("Подпись уведомления неверна", {"signature": exc.code}) from None
        except ProviderError as exc:
            raise BadRequest("Уведомление не прочитано", {"body": exc.code}) from None
        return self._checkout().apply_event(event)

    # ---- saved cards and automatic payment -----------------------------------------------

    def _cards(self, user_id: str) -> list[dict[str, Any]]:
        provider = self.providers.get(self.db)
        row = self.db.get(Customer, (user_id, provider.name))
        if row is None:
            return []
        cards = self._provider_call(lambda: provider.list_cards(row.customer_ref))
        return [{"ref": c.ref, "brand": c.brand, "last4": c.last4, "exp_month": c.exp_month,
                 "exp_year": c.exp_year} for c in cards]

    @rpc
    def cards(self) -> list[dict[str, Any]]:
        """The caller's saved cards."""
        return self._cards(self.request.principal().user_id)

    @rpc
    def delete_card(self, card_ref: Any) -> None:
        """Forget a saved card; automatic payments with it stop."""
        user_id = self.request.principal().user_id
        if card_ref not in {c["ref"] for c in self._cards(user_id)}:
            raise NotFound("Карта не найдена", {"card_ref": "not one of your cards"})
        provider = self.providers.get(self.db)
        self._provider_call(lambda: provider.detach_card(card_ref))
        autopay.cancel_for_card(self.work(), user_id, card_ref)

    @rpc
    def set_autopay(self, account_id: Any, card_ref: Any) -> dict[str, Any]:
        """Pay the account's monthly bill automatically with a saved card."""
        account = self._account(account_id, "full")
        user_id = self.request.principal().user_id
        card = next((c for c in self._cards(user_id) if c["ref"] == card_ref), None)
        if card is None:
            raise NotFound("Карта не найдена", {"card_ref": "not one of your cards"})
        return autopay.enable(self.work(), user_id, account, card)

    @rpc
    def cancel_autopay(self, account_id: Any) -> None:
        """Stop the account's automatic payment."""
        account = self._account(account_id, "full")
        autopay.cancel(self.work(), self.request.principal().user_id, account)

    @rpc
    def autopays(self) -> list[dict[str, Any]]:
        """The caller's automatic payments."""
        return autopay.of_user(self.work(), self.request.principal().user_id)

    # ---- history -------------------------------------------------------------------------

    @rpc
    def history(self, account_id: Any = None, date_from: Any = None, date_to: Any = None,
                cursor: Any = None, limit: Any = None) -> dict[str, Any]:
        """Платежи (one account) or Полная история платежей (all the caller's accounts):
        id, amount, type, source, time, status; by period, a page at a time ({items, next};
        ``next`` back as ``cursor``)."""
        user_id = self.request.principal().user_id
        if account_id is not None:
            try:
                account_id = int(account_id)
            except (TypeError, ValueError):
                raise ValidationFailed("Неверный лицевой счёт",
                                       {"account_id": "must be an integer"}) from None
            accounts = [self._account(account_id)]
        else:
            accounts = self._user_accounts(user_id)
        return history.page(self.work(), user_id, accounts, parse_day(date_from, "date_from"),
                            parse_day(date_to, "date_to"), cursor, limit)

    # ---- operators -----------------------------------------------------------------------

    @rpc
    @idempotent
    def refund(self, payment_id: Any, amount: Any, reason: Any) -> dict[str, Any]:
        """An operator returns an overpayment or a double payment to the card."""
        operator = self.request.principal("operator", "admin")
        if not isinstance(reason, str) or not 3 <= len(reason.strip()) <= 200:
            raise ValidationFailed("Укажите причину возврата", {"reason": "3 to 200 characters"})
        checkout = self._checkout()
        payment = self._provider_call(lambda: checkout.refund(
            payment_id, parse_amount(amount, "amount"), reason.strip(), operator.user_id))
        return {**checkout.view(payment), "refunds": checkout.refunds_of(payment)}

    # ---- timers --------------------------------------------------------------------------

    @timer(interval=60)
    def reconcile(self) -> int:
        """Payments left open too long: ask the provider (a webhook may have been lost)."""
        minutes = self.config["PAYMENT_RECONCILE_MINUTES"]
        return self._checkout().reconcile(timedelta(minutes=minutes))

    @timer(interval=HOURLY)
    def accrue(self) -> int:
        """The built-in monthly accrual for the period that ended (once per account)."""
        if not self.config["BUILTIN_ACCRUAL"]:
            return 0
        return accrual.accrue(self.work(), self.config["TARIFFS_FILE"])

    @timer(interval=HOURLY)
    def run_autopays(self) -> int:
        """Automatic payments of bills coming due (once per bill)."""
        return autopay.run(self.work(), self._checkout(), self._statement())

    # ---- events in -----------------------------------------------------------------------

    @reliable_event_handler("billing", "charge_posted")
    def on_charge_posted(self, body: dict[str, Any]) -> None:
        if self.config["BILLING_CHARGES"]:
            self.handle_event(body, lambda p: ledger.post_charge(self.work(), p, "billing"))

    @reliable_event_handler("readings", "reading_submitted")
    def on_reading_submitted(self, body: dict[str, Any]) -> None:
        """The meter's latest reading of the period, for the built-in accrual only (none is
        kept without it). Applying an event twice, or an older one late, changes nothing (the
        latest by ``submitted_at`` stays), so no claim in processed_events: one INSERT less
        per reading, and that table no longer grows with every reading."""
        if self.config["BUILTIN_ACCRUAL"]:
            accrual.reading_submitted(self.work(), parse_envelope(body)["payload"])
            self.db.commit()

    @reliable_event_handler("accounts", "account_linked")
    def on_account_linked(self, body: dict[str, Any]) -> None:
        def link(p: dict[str, Any]) -> None:
            self.db.merge(Link(user_id=p["user_id"], account_id=p["account_id"],
                               number=p["number"], branch=p["branch"], access=p["access"]))
            # The ledger learns the portal's id of the account here, once, not on every read.
            ledger.ensure_account(self.db, p["number"], p["branch"], p["account_id"],
                                  p.get("tariff_category"))
        self.handle_event(body, link)

    @reliable_event_handler("billing", "account_upserted")
    def on_account_upserted(self, body: dict[str, Any]) -> None:
        """Billing set the account's tariff category (payments prices by it)."""
        self.handle_event(body, lambda p: ledger.ensure_account(
            self.db, p["number"], p["branch"], category=p["tariff_category"]))

    @reliable_event_handler("accounts", "account_category_changed")
    def on_account_category_changed(self, body: dict[str, Any]) -> None:
        """A document accepted for the account changed its tariff category: price by it."""
        self.handle_event(body, lambda p: ledger.ensure_account(
            self.db, p["number"], p["branch"], p["account_id"], p["tariff_category"]))

    @reliable_event_handler("auth", "user_deleted")
    def forget_user_cards(self, body: dict[str, Any]) -> None:
        """152-ФЗ: automatic payments off, saved cards detached at the provider, card refs
        cleared; payment records stay for accounting (see domain/erasure.py). Not claimed by
        event id (one claim per id serves one handler of an event): repeating changes nothing."""
        user_id = parse_envelope(body)["payload"]["user_id"]
        provider = self.providers.get(self.db)
        self._provider_call(lambda: erasure.forget_user(self.db, provider, user_id,
                                                        self.clock.now()))

    @reliable_event_handler("accounts", "account_unlinked")
    def on_account_unlinked(self, body: dict[str, Any]) -> None:
        def unlink(p: dict[str, Any]) -> None:
            row = self.db.get(Link, (p["user_id"], p["account_id"]))
            if row is not None:
                self.db.delete(row)
        self.handle_event(body, unlink)
