"""A request's life: new → accepted → scheduled → done; cancelled by the customer before a
date is set; rejected by the operator (with a reason) at any open step."""
from __future__ import annotations

from dataclasses import dataclass

from shared.errors import Conflict

OPEN = ("new", "accepted", "scheduled")
CLOSED = ("done", "cancelled", "rejected")
STATUSES = OPEN + CLOSED
LABELS = {"new": "Новая", "accepted": "Принята", "scheduled": "Назначена",
          "done": "Выполнена", "cancelled": "Отменена", "rejected": "Отклонена"}


@dataclass(frozen=True)
class Step:
    sources: tuple[str, ...]
    target: str
    verb: str  # for the error: «Заявку в статусе … нельзя <verb>»


STEPS = {
    "accept": Step(("new",), "accepted", "принять"),
    # Scheduling again moves the date (the customer is told again).
    "schedule": Step(("accepted", "scheduled"), "scheduled", "назначить на дату"),
    "complete": Step(("scheduled",), "done", "отметить выполненной"),
    "reject": Step(OPEN, "rejected", "отклонить"),
    "cancel": Step(("new", "accepted"), "cancelled", "отменить"),
    # The customer deleted their account: whatever was open ends.
    "withdraw": Step(OPEN, "cancelled", "отменить"),
}


def next_status(action: str, current: str) -> str:
    """The status ``action`` leads to from ``current``, or Conflict (409) saying why not."""
    step = STEPS[action]
    if current in step.sources:
        return step.target
    if action == "cancel" and current == "scheduled":
        message = ("Дата работ уже назначена: чтобы отменить заявку, напишите оператору в "
                   "переписке по заявке")
    else:
        message = f"Заявку в статусе «{LABELS[current]}» нельзя {step.verb}"
    raise Conflict(message, {"status": f"{current}: cannot {action}"})


def require_open(current: str, what: str) -> None:
    """Assigning and writing need an open request."""
    if current not in OPEN:
        raise Conflict(f"Заявка закрыта ({LABELS[current]}): {what} нельзя",
                       {"status": f"{current}: closed"})
