"""Notices: the feed with read/unread state, the header summary, reminders of the reading
window and of a meter's verification date, delivered by the channels the user chose."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from tests.integration.helpers import bearer, error, eventually, new_phone, register_by_phone
from tests.integration.test_accounts import link, post_account

API = "/api/v1"


def _move_clock_to(sys, day: date) -> None:
    target = datetime(day.year, day.month, day.day, 10, 0, tzinfo=timezone.utc)
    sys.clock.advance(seconds=(target - sys.clock.now()).total_seconds())


def _linked_customer(sys, **account):
    phone = new_phone()
    tokens = register_by_phone(sys, phone)
    sys.wait_contact(tokens["user"]["id"])
    number = post_account(sys, **account)
    account_id = link(sys, tokens, number).json["id"]
    eventually(lambda: sys.client.get(f"{API}/accounts/{account_id}/meters",
                                      headers=bearer(tokens)).json, what="readings' meters")
    return phone, tokens, account_id


def _refresh(sys, tokens) -> dict:
    """New tokens at the moved clock's time."""
    return sys.client.post(f"{API}/auth/token/refresh",
                           json={"refresh_token": tokens["refresh_token"]}).json


def _feed(sys, tokens) -> dict:
    return sys.client.get(f"{API}/notices", headers=bearer(tokens)).json


def test_reading_window_reminder_once_per_period_only_to_accounts_without_a_reading(sys):
    phone, tokens, account_id = _linked_customer(sys)
    _, diligent, diligent_account = _linked_customer(sys)
    today = sys.clock.now().date()
    _move_clock_to(sys, date(today.year, today.month, 10))  # outside the window: nothing
    sys.tick("readings", "remind_missing_readings")
    _move_clock_to(sys, date(today.year, today.month, 21))  # in the window, not the last days
    diligent = _refresh(sys, diligent)
    sent = sys.client.post(f"{API}/accounts/{diligent_account}/readings", headers=bearer(diligent),
                           json={"meter_serial": "1000911502333", "values": [100]})
    assert sent.status_code == 201, sent.json
    tokens = _refresh(sys, tokens)
    assert _feed(sys, tokens)["items"] == []

    tap = sys.tap("readings")
    _move_clock_to(sys, date(today.year, today.month, 23))
    sys.tick("readings", "remind_missing_readings")
    sys.tick("readings", "remind_missing_readings")  # a second tick makes no second reminder
    event = tap.wait_for("reading_reminder_due", lambda p: p["account_id"] == account_id)
    assert event["payload"]["window_end"].endswith("-25")
    tokens, diligent = _refresh(sys, tokens), _refresh(sys, diligent)
    feed = eventually(lambda: (f := _feed(sys, tokens))["items"] and f,
                      what="the reminder notice")
    reminders = [n for n in feed["items"] if n["kind"] == "reading_reminder"]
    assert len(reminders) == 1 and reminders[0]["account_id"] == account_id
    assert "до 25." in reminders[0]["body"]
    assert feed["unread"] == 1
    assert "Передайте показания" in sys.last_sms(phone)
    assert not [e for e in tap.drain() if e["type"] == "reading_reminder_due"
                and e["payload"]["account_id"] == diligent_account]
    assert [n for n in _feed(sys, diligent)["items"] if n["kind"] == "reading_reminder"] == []
    tap.close()


def test_verification_due_soon_and_read_state_and_summary(sys):
    due = (sys.clock.now() + timedelta(days=20)).date().isoformat()
    phone, tokens, account_id = _linked_customer(sys)
    sys.billing("meter_installed", {"number": link_number(sys, tokens, account_id),
                                    "branch": "mostovskoy", "serial": "1000911502333",
                                    "zones": 1, "digits": 5, "installed_on": "2015-03-01",
                                    "verification_due": due})
    sys.tick("accounts", "send_reminders")
    summary = sys.client.get(f"{API}/summary", headers=bearer(tokens)).json
    assert summary["unread_notices"] >= 1 and summary["accounts"] == 1
    feed = sys.client.get(f"{API}/notices", headers=bearer(tokens),
                          query_string={"unread_only": "true"}).json
    notice = next(n for n in feed["items"] if n["kind"] == "meter_verification")
    assert "1000911502333" in notice["body"]
    read = sys.client.post(f"{API}/notices/{notice['id']}/read", headers=bearer(tokens))
    assert read.status_code == 200 and read.json["read"] is True
    assert sys.client.post(f"{API}/notices/read-all", headers=bearer(tokens)).json == {"unread": 0}
    assert sys.client.get(f"{API}/summary", headers=bearer(tokens)).json["unread_notices"] == 0


def link_number(sys, tokens, account_id) -> str:
    return sys.client.get(f"{API}/accounts/{account_id}", headers=bearer(tokens)).json["number"]


def test_channels_follow_the_preferences(sys):
    due = (sys.clock.now() + timedelta(days=10)).date().isoformat()
    phone, tokens, account_id = _linked_customer(sys)
    sys.client.put(f"{API}/profile/preferences", headers=bearer(tokens),
                   json={"notify_sms": False})
    sys.sms.clear()
    sys.billing("meter_installed", {"number": link_number(sys, tokens, account_id),
                                    "branch": "mostovskoy", "serial": "1000911502333",
                                    "zones": 1, "digits": 5, "installed_on": "2015-03-01",
                                    "verification_due": due})
    sys.tick("accounts", "send_reminders")
    feed = sys.client.get(f"{API}/notices", headers=bearer(tokens)).json
    assert any(n["kind"] == "meter_verification" for n in feed["items"])
    assert not [m for m in sys.sms.messages if m["to"] == phone]


def test_notices_are_private_and_the_feed_checks_its_parameters(sys):
    _, owner, _ = _linked_customer(sys)
    today = sys.clock.now().date()
    _move_clock_to(sys, date(today.year, today.month, 24))
    sys.tick("readings", "remind_missing_readings")
    owner = sys.client.post(f"{API}/auth/token/refresh",
                            json={"refresh_token": owner["refresh_token"]}).json
    eventually(lambda: sys.client.get(f"{API}/notices", headers=bearer(owner)).json["items"],
               what="the reminder notice")
    other = register_by_phone(sys, new_phone())
    mine = sys.client.get(f"{API}/notices", headers=bearer(owner)).json["items"]
    assert mine
    for notice in mine:
        stolen = sys.client.post(f"{API}/notices/{notice['id']}/read", headers=bearer(other))
        assert stolen.status_code == 404
    bad = sys.client.get(f"{API}/notices", headers=bearer(other), query_string={"limit": "500"})
    assert bad.status_code == 400 and "limit" in error(bad)["fields"]
    assert sys.client.get(f"{API}/notices").status_code == 401
