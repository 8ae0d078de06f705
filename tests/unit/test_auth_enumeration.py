"""Registration, recovery and login do the same work for a registered identity as for an
unknown one, so their timing tells a stranger nothing (issue 14: 12 ms known, 158 ms new).

Wall time is flaky under load, so these tests count the work instead: argon2 hashes and
verifications, every SQL statement sent to the database (text and order), tokens signed,
and SMS and letters sent. The wall-time measurement is bench/auth_enumeration.py.
"""
from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from typing import Any, Callable

import pytest
from sqlalchemy import event

from services.auth.domain import flows as flows_module
from services.auth.domain import passwords, sessions
from services.auth.domain.flows import AuthFlows, Deps
from services.auth.models import EmailLink, User
from shared import settings
from shared.errors import Gone, Unauthorized

PASSWORD = "Kvartira-Schetchik-7391"
KNOWN_PHONE, NEW_PHONE = "+79181234567", "+79187654321"
KNOWN_EMAIL, NEW_EMAIL = "known@example.ru", "new@example.ru"
CAPTCHA = "TEST"


class FakeNotifier:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def send_sms(self, to: str, text: str) -> None:
        self.sent.append(("sms", to, text))

    def send_email(self, to: str, subject: str, body: str) -> None:
        self.sent.append(("email", to, body))


class Work:
    """What one call did: hashes, verifications, SQL statements, tokens signed, messages."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.sql: list[str] = []

    def shape(self) -> tuple[Any, ...]:
        return dict(self.counts), self.sql


@pytest.fixture
def config() -> dict[str, Any]:
    return settings.load({"CAPTCHA_TEST_ANSWER": CAPTCHA, "SMS_PER_PHONE_HOURLY": "100",
                          "SMS_PER_IP_HOURLY": "100"})


@pytest.fixture
def world(db, now, config, rsa_keys, monkeypatch):
    """A registered user (phone and e-mail) and a factory of AuthFlows whose work is counted."""
    notifier = FakeNotifier()
    work: list[Work] = [Work()]
    hasher = passwords._hasher

    class CountingHasher:
        def hash(self, password: str) -> str:
            work[0].counts["argon2 hash"] += 1
            return hasher.hash(password)

        def verify(self, password_hash: str, password: str) -> bool:
            work[0].counts["argon2 verify"] += 1
            return hasher.verify(password_hash, password)

        def check_needs_rehash(self, password_hash: str) -> bool:
            return hasher.check_needs_rehash(password_hash)

    monkeypatch.setattr(passwords, "_hasher", CountingHasher())
    signer = sessions.Signer.from_config(config, rsa_keys[0])
    real_sign = signer.sign

    def sign(*args: Any, **kwargs: Any) -> str:
        work[0].counts["token signed"] += 1
        return real_sign(*args, **kwargs)

    signer.sign = sign  # type: ignore[method-assign]

    @event.listens_for(db.get_bind(), "before_cursor_execute")
    def _statement(conn, cursor, statement, parameters, context, executemany) -> None:
        text = re.sub(r"\s+", " ", statement).strip()
        # An UPDATE lists only the columns that changed (None to None is left out): the
        # statement, not its column list, is the work.
        work[0].sql.append(re.sub(r"^(UPDATE \w+ SET) .*? (WHERE)", r"\1 ... \2", text))

    db.add(User(id="u-known", phone=KNOWN_PHONE, email=KNOWN_EMAIL, role="customer",
                password_hash=hasher.hash(PASSWORD), created_at=now,
                phone_confirmed_at=now, email_confirmed_at=now))
    db.commit()

    def flows(at=now) -> AuthFlows:
        return AuthFlows(Deps(db=db, config=config, now=at, notifier=notifier, signer=signer,
                              public_key=rsa_keys[1], client_ip="203.0.113.7",
                              record=lambda *_: None))

    def measure(call: Callable[[AuthFlows], Any], at=now) -> tuple[Work, Any]:
        captcha = flows(at).captcha()  # made outside the measured call
        work[0] = Work()
        before = len(notifier.sent)
        try:
            result = call_with(call, flows(at), captcha)
        except Exception as exc:  # noqa: BLE001 - the refusal is part of what is compared
            result = exc
        done, work[0] = work[0], Work()  # what follows (the next captcha) counts elsewhere
        for channel, _, _ in notifier.sent[before:]:
            done.counts[f"{channel} sent"] += 1
        return done, result

    return measure, notifier


def call_with(call: Callable[..., Any], flows: AuthFlows, captcha: dict[str, Any]) -> Any:
    return call(flows, {"captcha_id": captcha["captcha_id"], "captcha_answer": CAPTCHA})


def assert_same_work(known: Work, unknown: Work) -> None:
    assert known.shape() == unknown.shape()


def test_register_by_email_hashes_writes_signs_and_mails_alike(world, config):
    measure, notifier = world

    def register(email: str) -> Callable[..., Any]:
        return lambda f, c: f.register_email(email, PASSWORD, PASSWORD,
                                             consent_version=config["PD_CONSENT_VERSION"], **c)

    known, known_answer = measure(register(KNOWN_EMAIL))
    unknown, unknown_answer = measure(register(NEW_EMAIL))
    assert_same_work(known, unknown)
    assert known.counts == {"argon2 hash": 1, "token signed": 1, "email sent": 1}
    assert any(s.startswith("INSERT INTO email_links") for s in known.sql)
    assert {**known_answer, "email": ""} == {**unknown_answer, "email": ""}
    # Only the owner reads the difference: a notice with a reset link, not a registration one.
    notice = next(body for channel, to, body in notifier.sent if to == KNOWN_EMAIL)
    assert "уже зарегистрирован" in notice and "/reset-password?token=" in notice


def test_forgot_password_by_email_writes_signs_and_mails_alike(world, db):
    measure, notifier = world

    def forgot(email: str) -> Callable[..., Any]:
        return lambda f, c: f.forgot_password_email(email, **c)

    known, known_answer = measure(forgot(KNOWN_EMAIL))
    unknown, unknown_answer = measure(forgot(NEW_EMAIL))
    assert_same_work(known, unknown)
    assert known.counts == {"token signed": 1, "email sent": 1}
    assert known_answer == unknown_answer
    letter = next(body for channel, to, body in notifier.sent if to == NEW_EMAIL)
    assert "не зарегистрирован" in letter and "token=" not in letter


def test_the_unknown_address_row_resets_nothing(world, db, monkeypatch):
    """The row written for an unknown address is never sent; even its token resets no one."""
    measure, _ = world
    tokens: list[str] = []
    real_link = AuthFlows._link

    def link(self: AuthFlows, *args: Any, **kwargs: Any) -> str:
        tokens.append(real_link(self, *args, **kwargs))
        return tokens[-1]

    monkeypatch.setattr(AuthFlows, "_link", link)
    measure(lambda f, c: f.forgot_password_email(NEW_EMAIL, **c))
    assert db.query(EmailLink).filter_by(email=NEW_EMAIL).one().user_id is None
    _, refused = measure(lambda f, c: f.reset_password_email(tokens[0], "Novyi-Parol-9384",
                                                             "Novyi-Parol-9384"))
    assert isinstance(refused, Gone)


def test_register_by_phone_writes_and_texts_alike(world):
    measure, notifier = world

    def register(phone: str) -> Callable[..., Any]:
        return lambda f, c: f.register_phone(phone, **c)

    known, known_answer = measure(register(KNOWN_PHONE))
    unknown, unknown_answer = measure(register(NEW_PHONE))
    assert_same_work(known, unknown)
    assert known.counts == {"sms sent": 1}
    assert set(known_answer) == set(unknown_answer)


def test_forgot_password_by_phone_texts_an_unknown_number_too(world):
    measure, notifier = world

    def forgot(phone: str) -> Callable[..., Any]:
        return lambda f, c: f.forgot_password_phone(phone, **c)

    known, _ = measure(forgot(KNOWN_PHONE))
    unknown, _ = measure(forgot(NEW_PHONE))
    assert_same_work(known, unknown)
    assert known.counts == {"sms sent": 1}
    notice = [text for _, to, text in notifier.sent if to == NEW_PHONE][-1]
    assert notice == flows_module.NO_CODE_SMS["reset"]


@pytest.mark.parametrize("start", ["register_phone", "forgot_password_phone"])
def test_resending_a_codeless_challenge_texts_like_a_coded_one(world, now, config, start):
    """A challenge no code passes (registered number on registration, unknown one on
    recovery) re-sends its notice, where before it sent nothing: a timing tell."""
    measure, notifier = world
    later = now + timedelta(seconds=config["SMS_RESEND_COOLDOWN"] + 1)
    challenges = {}
    for phone in (KNOWN_PHONE, NEW_PHONE):
        _, challenges[phone] = measure(lambda f, c, p=phone: getattr(f, start)(p, **c))
    resent = {phone: measure(lambda f, c, v=view["verification_id"]: f.resend_code(v), at=later)[0]
              for phone, view in challenges.items()}
    assert_same_work(resent[KNOWN_PHONE], resent[NEW_PHONE])
    assert resent[KNOWN_PHONE].counts == {"sms sent": 1}


def test_login_verifies_one_hash_for_a_wrong_password_and_an_unknown_identity(world):
    measure, _ = world
    wrong, wrong_error = measure(lambda f, c: f.login(phone=KNOWN_PHONE, password="Wrong-1234"))
    unknown, unknown_error = measure(lambda f, c: f.login(phone=NEW_PHONE, password="Wrong-1234"))
    assert isinstance(wrong_error, Unauthorized) and isinstance(unknown_error, Unauthorized)
    assert_same_work(wrong, unknown)
    assert wrong.counts == {"argon2 verify": 1}


def test_changing_the_login_email_to_a_taken_address_works_and_mails_alike(world, db, now):
    """A signed-in customer cannot learn which addresses are registered by asking to sign
    in with them: the same answer after the same work; the taken address's owner alone
    reads, in the letter, that nothing changed (no link)."""
    from services.auth.models import Session
    from shared.tokens import Principal

    measure, notifier = world
    db.add(User(id="u-me", phone=NEW_PHONE, email="me@example.ru", role="customer",
                password_hash=passwords._hasher.hash(PASSWORD), created_at=now))
    db.add(Session(id="s-me", user_id="u-me", created_at=now, last_used_at=now))
    db.commit()
    me = Principal(user_id="u-me", role="customer", session_id="s-me", token_id="t")

    def change(email: str) -> Callable[..., Any]:
        return lambda f, c: f.change_login_email(me, PASSWORD, email)

    taken, taken_answer = measure(change(KNOWN_EMAIL))
    free, free_answer = measure(change(NEW_EMAIL))
    assert_same_work(taken, free)
    assert taken.counts == {"argon2 verify": 1, "token signed": 1, "email sent": 2}
    assert {**taken_answer, "email": ""} == {**free_answer, "email": ""}
    notice = next(body for channel, to, body in notifier.sent if to == KNOWN_EMAIL)
    assert "уже используется" in notice and "token=" not in notice
    link = next(body for channel, to, body in notifier.sent if to == NEW_EMAIL)
    assert "/profile/login-email/confirm?token=" in link
