"""A request's life: every action from every status, allowed or refused with a clear 409."""
import itertools

import pytest

from services.requests.domain.lifecycle import STATUSES, next_status, require_open
from shared.errors import Conflict

ALLOWED = {
    ("accept", "new"): "accepted",
    ("schedule", "accepted"): "scheduled",
    ("schedule", "scheduled"): "scheduled",  # moving the date
    ("complete", "scheduled"): "done",
    ("reject", "new"): "rejected",
    ("reject", "accepted"): "rejected",
    ("reject", "scheduled"): "rejected",
    ("cancel", "new"): "cancelled",
    ("cancel", "accepted"): "cancelled",
    ("withdraw", "new"): "cancelled",
    ("withdraw", "accepted"): "cancelled",
    ("withdraw", "scheduled"): "cancelled",
}
ACTIONS = ("accept", "schedule", "complete", "reject", "cancel", "withdraw")


@pytest.mark.parametrize("action,status", list(itertools.product(ACTIONS, STATUSES)))
def test_every_transition(action, status):
    if (action, status) in ALLOWED:
        assert next_status(action, status) == ALLOWED[(action, status)]
        return
    with pytest.raises(Conflict) as refused:
        next_status(action, status)
    assert refused.value.status == 409
    assert refused.value.fields == {"status": f"{status}: cannot {action}"}


def test_a_scheduled_request_is_cancelled_through_the_operator():
    with pytest.raises(Conflict) as refused:
        next_status("cancel", "scheduled")
    assert "напишите оператору" in refused.value.message


def test_messages_of_a_refused_step_name_the_status_in_russian():
    with pytest.raises(Conflict) as refused:
        next_status("complete", "new")
    assert refused.value.message == "Заявку в статусе «Новая» нельзя отметить выполненной"


@pytest.mark.parametrize("status", ["done", "cancelled", "rejected"])
def test_closed_requests_take_no_messages_or_assignment(status):
    with pytest.raises(Conflict):
        require_open(status, "писать в переписку")
    require_open("scheduled", "писать в переписку")  # open: nothing raised
