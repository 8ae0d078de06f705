"""The requests service's nameko entrypoints: РАЗДЕЛ «УСЛУГИ» for customers, the queue for
operators, the catalogue for admins."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from nameko.dependency_providers import Config

from services.requests.domain import catalogue
from services.requests.domain.orders import Orders
from services.requests.models import AccountGrant, AccountGrantsLoad, Outbox, ProcessedEvent
from services.requests.models import IdempotencyKey
from shared.clock import ClockProvider
from shared.consumers import reliable_event_handler
from shared.context import RequestContext
from shared.db import Database
from shared.deadlines import RpcProxy
from shared.idempotency import Idempotency, idempotent
from shared.grants import GrantsMixin
from shared.service import OutboxProvider, ServiceBase, rpc
from shared.storage import StoreProvider

MIGRATIONS = Path(__file__).parent / "migrations"
STAFF = ("operator", "admin")


class RequestsService(GrantsMixin, ServiceBase):
    """Orders of electrical works: catalogue, requests, conversation, attachments."""

    name = "requests"
    processed_events = ProcessedEvent
    grant_model = AccountGrant
    grants_load_model = AccountGrantsLoad

    config = Config()
    db = Database("requests", MIGRATIONS)
    outbox = OutboxProvider(Outbox)
    clock = ClockProvider()
    request = RequestContext()
    idempotency = Idempotency(IdempotencyKey)  # Idempotency-Key of creating calls
    store = StoreProvider("requests")
    accounts = RpcProxy("accounts")

    @property
    def orders(self) -> Orders:
        return Orders(self.work(), self.store)

    def _me(self) -> str:
        return self.request.principal().user_id

    def _staff(self) -> tuple[str, Orders]:
        """The caller, who must be an operator or admin (and is assignable from now on)."""
        principal = self.request.principal(*STAFF)
        orders = self.orders
        orders.remember_staff(principal.user_id, principal.role)
        return principal.user_id, orders

    def _step(self, request_id: Any, action: str, **data: Any) -> dict[str, Any]:
        me, orders = self._staff()
        return orders.act(me, request_id, action, data)

    # ---- the catalogue -------------------------------------------------------------------

    @rpc
    def catalogue(self) -> list[dict[str, Any]]:
        """The works a customer may order, with whether each needs an account and its price."""
        return catalogue.works(self.db)

    @rpc
    def all_works(self) -> list[dict[str, Any]]:
        """Admin: every work, offered or not."""
        self.request.principal("admin")
        return catalogue.works(self.db, include_inactive=True)

    @rpc
    def save_work(self, code: Any, **fields: Any) -> dict[str, Any]:
        """Admin: create a work or change its title, description, account need, price,
        whether it is offered and its place in the list."""
        self.request.principal("admin")
        return catalogue.save(self.work(), code, fields)

    # ---- the customer --------------------------------------------------------------------

    @rpc
    @idempotent
    def create(self, work: Any = None, message: Any = None, contact_phone: Any = None,
               account_id: Any = None, branch: Any = None, address: Any = None,
               preferred_time: Any = None, attachments: Any = None) -> dict[str, Any]:
        """«+ Заказать услугу». The account must be the caller's with full access
        (accounts' rule, on requests' copy of the grants: shared/grants.py); without one, a
        branch and an address."""
        user_id = self._me()
        data = {"work": work, "message": message, "contact_phone": contact_phone,
                "account_id": account_id, "branch": branch, "address": address,
                "preferred_time": preferred_time, "attachments": attachments}
        return self.orders.create(
            user_id, data,
            account_of=lambda account: self.allowed(account, "full"),
            branch_codes=lambda: {b["code"] for b in self.accounts.branches()["branches"]})

    @rpc
    def my_requests(self, cursor: Any = None, limit: Any = None) -> dict[str, Any]:
        """The caller's requests with status and unread replies, newest first, a page at a
        time (shared/paging.py)."""
        return self.orders.mine(self._me(), cursor, limit)

    @rpc
    def get(self, request_id: Any) -> dict[str, Any]:
        """One of the caller's requests: timeline and conversation (replies become read)."""
        return self.orders.view_own(self._me(), request_id)

    @rpc
    def messages(self, request_id: Any, cursor: Any = None, limit: Any = None
                 ) -> dict[str, Any]:
        """The conversation of one of the caller's requests, oldest first, a page at a time
        (``next`` to later messages, ``earlier`` to earlier ones)."""
        return self.orders.conversation_own(self._me(), request_id, cursor, limit)

    @rpc
    def cancel(self, request_id: Any, reason: Any = None) -> dict[str, Any]:
        """The customer cancels a request that has no date yet."""
        return self.orders.cancel(self._me(), request_id, {"reason": reason})

    @rpc
    @idempotent
    def post_message(self, request_id: Any, text: Any = None, attachments: Any = None
                     ) -> dict[str, Any]:
        """The customer writes in the request's conversation, with files."""
        return self.orders.customer_writes(self._me(), request_id,
                                           {"text": text, "attachments": attachments})

    @rpc
    def my_counts(self) -> dict[str, int]:
        """The page header: open requests and unread replies of the caller."""
        return self.orders.counts(self._me())

    @rpc
    def attachment(self, request_id: Any, attachment_id: Any) -> dict[str, Any]:
        """A file of a request's conversation (base64 with its content type), for the
        request's customer or an operator."""
        principal = self.request.principal()
        return self.orders.attachment(principal.user_id, principal.role in STAFF, request_id,
                                      attachment_id)

    # ---- operators -----------------------------------------------------------------------

    @rpc
    def queue(self, status: Any = None, work: Any = None, branch: Any = None,
              date_from: Any = None, date_to: Any = None, assignee: Any = None,
              cursor: Any = None, limit: Any = None) -> dict[str, Any]:
        """Operators: the queue, oldest first, with filters, a page at a time
        (shared/paging.py)."""
        me, orders = self._staff()
        return orders.queue(me, {
            "status": status, "work": work, "branch": branch, "date_from": date_from,
            "date_to": date_to, "assignee": assignee, "cursor": cursor, "limit": limit})

    @rpc
    def staff(self) -> list[dict[str, Any]]:
        """Operators: the operators and admins a request may be assigned to."""
        return self._staff()[1].staff()

    @rpc
    def operator_view(self, request_id: Any) -> dict[str, Any]:
        """Operators: one request (the customer's messages become read)."""
        return self._staff()[1].view_any(request_id)

    @rpc
    def operator_messages(self, request_id: Any, cursor: Any = None, limit: Any = None
                          ) -> dict[str, Any]:
        """Operators: a request's conversation, oldest first, a page at a time."""
        return self._staff()[1].conversation_any(request_id, cursor, limit)

    @rpc
    def assign(self, request_id: Any, operator_id: Any = None) -> dict[str, Any]:
        """Operators: assign the request to oneself or to another operator."""
        me, orders = self._staff()
        return orders.assign(me, request_id, {"operator_id": operator_id})

    @rpc
    def accept(self, request_id: Any) -> dict[str, Any]:
        """Operators: new → accepted (assigned to the caller if nobody has it)."""
        return self._step(request_id, "accept")

    @rpc
    def schedule(self, request_id: Any, scheduled_at: Any = None) -> dict[str, Any]:
        """Operators: accepted → scheduled at a date and time (again to move it)."""
        return self._step(request_id, "schedule", scheduled_at=scheduled_at)

    @rpc
    def complete(self, request_id: Any) -> dict[str, Any]:
        """Operators: scheduled → done."""
        return self._step(request_id, "complete")

    @rpc
    def reject(self, request_id: Any, reason: Any = None) -> dict[str, Any]:
        """Operators: any open request → rejected, with the reason the customer reads."""
        return self._step(request_id, "reject", reason=reason)

    @rpc
    @idempotent
    def reply(self, request_id: Any, text: Any = None, attachments: Any = None
              ) -> dict[str, Any]:
        """Operators: a message to the customer, with files."""
        me, orders = self._staff()
        return orders.operator_writes(me, request_id, {"text": text, "attachments": attachments})

    # ---- events in -----------------------------------------------------------------------

    @reliable_event_handler("auth", "user_registered")
    def on_user_registered(self, body: dict[str, Any]) -> None:
        """A new operator or admin becomes assignable."""
        self.handle_event(body, self.orders.user_registered)

    @reliable_event_handler("auth", "user_deleted")
    def on_user_deleted(self, body: dict[str, Any]) -> None:
        """152-ФЗ: the customer's requests and files are erased (open ones cancelled first)."""
        for key in self.handle_event(body, self.orders.user_deleted) or ():
            self.store.delete(key)  # only now that the rows are gone for good
