"""Failed logins: free tries, then a doubling wait, then a lock."""
from datetime import timedelta

import pytest

from services.auth.domain import throttle
from services.auth.models import LoginAddressFailure, LoginThrottle
from shared.errors import Locked, TooManyRequests

POLICY = throttle.Policy(slowdown_after=3, lock_after=6, lock_seconds=900)
WHO = "+79181234567"
S = timedelta(seconds=1)


def attempt(db, now, ok=False):
    """One login try at ``now``: refused by the throttle, or recorded as failed/succeeded."""
    row = throttle.check(db, POLICY, WHO, now)
    if ok:
        throttle.succeeded(row)
    else:
        throttle.failed(row, POLICY, now)
    db.commit()
    return row


def fail_times(db, now, count):
    """``count`` failures, each just after the wait the previous one imposed."""
    for n in range(count):
        attempt(db, now)
        delay = 2 ** (n + 1 - POLICY.slowdown_after) if n + 1 >= POLICY.slowdown_after else 0
        now += delay * S
    return now


def test_first_attempt_creates_the_row(db, now):
    row = throttle.check(db, POLICY, WHO, now)
    assert row.failures == 0 and db.get(LoginThrottle, WHO) is row


def test_failures_below_slowdown_are_allowed_immediately(db, now):
    for _ in range(POLICY.slowdown_after):
        attempt(db, now)
    assert db.get(LoginThrottle, WHO).failures == POLICY.slowdown_after


@pytest.mark.parametrize("failures", [3, 4, 5])
def test_then_each_try_must_wait_doubling_seconds(db, now, failures):
    db.add(LoginThrottle(identity=WHO, failures=failures, last_failure_at=now))
    db.commit()
    delay = 2 ** (failures - POLICY.slowdown_after)  # 1, 2, 4 s
    with pytest.raises(TooManyRequests) as info:
        throttle.check(db, POLICY, WHO, now)
    assert info.value.fields == {"password": "too many attempts"}
    assert delay <= info.value.retry_after <= delay + 1
    with pytest.raises(TooManyRequests):
        throttle.check(db, POLICY, WHO, now + (delay - 0.5) * S)
    throttle.check(db, POLICY, WHO, now + delay * S)


def test_waiting_each_delay_lets_the_caller_try_again(db, now):
    now = fail_times(db, now, POLICY.lock_after - 1)
    assert db.get(LoginThrottle, WHO).failures == POLICY.lock_after - 1
    throttle.check(db, POLICY, WHO, now)


def test_retry_after_is_enough(db, now):
    now = fail_times(db, now, POLICY.slowdown_after + 1) - 2 * S  # too early
    with pytest.raises(TooManyRequests) as info:
        throttle.check(db, POLICY, WHO, now)
    throttle.check(db, POLICY, WHO, now + info.value.retry_after * S)


def test_lock_after_too_many_failures_even_when_waiting_the_slowdown(db, now):
    now = fail_times(db, now, POLICY.lock_after)
    with pytest.raises(Locked) as info:
        throttle.check(db, POLICY, WHO, now + 60 * S)  # far more than any slowdown
    assert info.value.fields == {"password": "locked"}
    remaining = POLICY.lock_seconds - 60 - 2 ** (POLICY.lock_after - POLICY.slowdown_after)
    assert remaining <= info.value.retry_after <= remaining + 1


def test_locked_right_after_the_last_failure_for_lock_seconds(db, now):
    last = fail_times(db, now, POLICY.lock_after - 1)
    attempt(db, last)  # the failure that locks
    with pytest.raises(Locked) as info:
        throttle.check(db, POLICY, WHO, last)
    assert POLICY.lock_seconds <= info.value.retry_after <= POLICY.lock_seconds + 1
    with pytest.raises(Locked):
        throttle.check(db, POLICY, WHO, last + (POLICY.lock_seconds - 1) * S)


def test_lock_expires_and_the_counters_start_afresh(db, now):
    last = fail_times(db, now, POLICY.lock_after - 1)
    attempt(db, last)
    after = last + POLICY.lock_seconds * S
    row = throttle.check(db, POLICY, WHO, after)
    assert row.failures == 0 and row.locked_until is None
    for _ in range(POLICY.slowdown_after):  # free tries again
        attempt(db, after)


def test_success_resets(db, now):
    now = fail_times(db, now, POLICY.slowdown_after + 1)
    row = attempt(db, now, ok=True)
    assert (row.failures, row.last_failure_at, row.locked_until) == (0, None, None)
    for _ in range(POLICY.slowdown_after):
        attempt(db, now)


def test_identities_are_throttled_separately(db, now):
    fail_times(db, now, POLICY.lock_after)
    throttle.check(db, POLICY, "ivan@example.com", now)


def test_policy_from_config():
    config = {"LOGIN_SLOWDOWN_AFTER": 3, "LOGIN_LOCK_AFTER": 10, "LOGIN_LOCK_SECONDS": 900,
              "LOGIN_PER_IP_LIMIT": 30, "LOGIN_PER_IP_WINDOW": 3600}
    assert throttle.Policy.from_config(config) == throttle.Policy(3, 10, 900, 30, 3600)


# ---- the per-address limit --------------------------------------------------------------

ADDRESS_POLICY = throttle.Policy(slowdown_after=3, lock_after=6, lock_seconds=900,
                                 per_ip_limit=4, per_ip_window=600)
IP = "203.0.113.7"


def address_fails(db, now, count, ip=IP):
    counted = []
    for _ in range(count):
        counted.append(throttle.address_failed(db, ADDRESS_POLICY, ip, now))
        db.commit()
    return counted


def test_an_address_under_its_limit_may_try_and_its_failures_count(db, now):
    assert address_fails(db, now, ADDRESS_POLICY.per_ip_limit) == [True] * 4
    with pytest.raises(TooManyRequests) as info:
        throttle.check_address(db, ADDRESS_POLICY, IP, now + 10 * S)
    assert info.value.fields == {"password": "too many failures from this address"}
    assert info.value.retry_after == ADDRESS_POLICY.per_ip_window - 10


def test_failures_beyond_the_limit_do_not_count_towards_an_identity(db, now):
    """Requests that raced past check_address: their failures are recorded but not counted."""
    assert address_fails(db, now, 6) == [True] * 4 + [False] * 2


def test_the_window_slides(db, now):
    address_fails(db, now, 2)
    address_fails(db, now + 300 * S, 2)
    with pytest.raises(TooManyRequests) as info:
        throttle.check_address(db, ADDRESS_POLICY, IP, now + 301 * S)
    assert info.value.retry_after == 299  # until the two oldest leave the window
    throttle.check_address(db, ADDRESS_POLICY, IP, now + 600 * S)  # two left: may try


def test_addresses_are_limited_separately_and_old_rows_are_pruned(db, now):
    address_fails(db, now, 4)
    throttle.check_address(db, ADDRESS_POLICY, "198.51.100.1", now)
    address_fails(db, now + 601 * S, 1, ip="198.51.100.1")
    assert [r.client_ip for r in db.query(LoginAddressFailure)] == ["198.51.100.1"]
