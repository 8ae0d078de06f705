"""The whole OpenAPI document fuzzed (schemathesis) against the gateway of a running system:
every operation with generated valid and invalid requests, unauthenticated and as a
customer with a linked account, then sequences of calls that follow the document's links
(an account made by POST /accounts read back, paid, its readings sent...). No answer may be
a 5xx, every answer must match its operation's schema in the document, and every error a
person can meet is in Russian.

The short run (``make test``) has a fixed number of examples per operation and hypothesis
derandomized, on SQLite: the same requests in every CI run. ``make fuzz`` runs many more
(README "Fuzzing the API"); these variables size it:

    FUZZ_EXAMPLES   examples per operation and mode (2)
    FUZZ_STEPS      stateful scenarios (3)
    FUZZ_SEED       a seed: other requests than the fixed ones (none: derandomized)
    FUZZ_DATABASES  sqlite, postgresql or both, comma-separated (sqlite)
"""
from __future__ import annotations

import os
import re
import time
import uuid
from collections import Counter
from typing import Any, Callable, Iterator

import hypothesis
import hypothesis.errors
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis.stateful import run_state_machine_as_test
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.integration.conftest import System
from tests.integration.helpers import bearer, new_phone, register_by_phone
from tests.integration.test_accounts import link, post_account
from tests.integration.test_payments import card

API = "/api/v1"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "2"))
STEPS = int(os.environ.get("FUZZ_STEPS", "3"))
SEED = os.environ.get("FUZZ_SEED")
DATABASES = os.environ.get("FUZZ_DATABASES", "sqlite").split(",")
CHECKS = [not_a_server_error, response_schema_conformance]
STATUSES: Counter[str] = Counter()  # answers by class, printed: how deep the requests went

pytestmark = pytest.mark.parametrize("new_database", DATABASES, indirect=True, scope="module")

# A Latin sentence of three words or more: English left where a person reads.
ENGLISH = re.compile(r"[A-Za-z]+ [A-Za-z]+ [A-Za-z]+")
CYRILLIC = re.compile(r"[А-Яа-яЁё]")


def _settings(examples: int) -> hypothesis.settings:
    return hypothesis.settings(
        max_examples=examples, derandomize=SEED is None, database=None, deadline=None,
        phases=[Phase.explicit, Phase.generate], print_blob=False,
        suppress_health_check=list(HealthCheck))


class Customer:
    """A signed-in customer with a linked account."""

    def __init__(self, sys: System) -> None:
        self.sys = sys
        self.headers: dict[str, str] = {}
        self.account_id = 0
        self.renew()

    def renew(self) -> None:
        tokens = register_by_phone(self.sys, new_phone())
        number = post_account(self.sys)
        linked = link(self.sys, tokens, number)
        assert linked.status_code == 201, linked.json
        self.headers, self.account_id = bearer(tokens), linked.json["id"]

    def ensure(self) -> None:
        """A new customer when this one is gone or has unlinked its account (the fuzzer
        calls DELETE /accounts/{id} too)."""
        own = self.sys.client.get(f"{API}/accounts/{self.account_id}", headers=self.headers)
        if own.status_code != 200:
            self.renew()


def russian_error(status: int, body: Any) -> str | None:
    """What is not Russian in a 4xx answer a person may read (None: all of it is)."""
    if not 400 <= status < 500:
        return None
    if body is None:
        return "not a JSON error body"
    error = body.get("error", {}) if isinstance(body, dict) else {}
    texts = {"message": error.get("message", "")} | {
        f"fields.{name}": text for name, text in (error.get("fields") or {}).items()}
    wrong = {where: text for where, text in texts.items()
             if not CYRILLIC.search(str(text)) or ENGLISH.search(str(text))}
    return f"not Russian: {wrong}" if wrong else None


def _report(failures: list[str]) -> None:
    text = "\n#####\n".join(failures)
    if failures and os.environ.get("FUZZ_REPORT"):  # make fuzz: the list in a file as well
        with open(os.environ["FUZZ_REPORT"], "a", encoding="utf-8") as out:
            out.write(text + "\n#####\n")
    assert not failures, text


def _json(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


@pytest.fixture(scope="module")
def api(system: System) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_wsgi(f"{API}/openapi.json", system.client.application)


@pytest.fixture(scope="module")
def customer(system: System) -> Customer:
    return Customer(system)


def _fuzz_operation(sys: System, operation: Any, mode: GenerationMode, examples: int,
                    headers: Callable[[], dict[str, str]], path_parameters: dict[str, Any],
                    failures: list[str]) -> None:
    found: dict[str, list[str]] = {"checks": [], "language": []}

    @_settings(examples)
    @given(operation.as_strategy(generation_mode=mode, path_parameters=path_parameters or None))
    def run(case: schemathesis.Case) -> None:
        try:
            # an exception the app did not answer comes out of the in-process call
            response = case.call(session=sys.client, headers=headers())
            STATUSES[f"{response.status_code // 100}xx"] += 1
            case.validate_response(response, checks=CHECKS, headers=headers())
        except (Exception, FailureGroup) as exc:  # collect; go on with the other examples
            found["checks"].append(f"{case.as_curl_command()}\n{type(exc).__name__}: {exc}")
            return
        english = russian_error(response.status_code, _json(response))
        if english:
            found["language"].append(f"{case.as_curl_command()}\n{english}")

    if SEED is not None:
        run = hypothesis.seed(int(SEED))(run)
    try:
        run()
    except hypothesis.errors.Unsatisfiable:  # nothing to make invalid (no parameters, no body)
        assert mode is GenerationMode.NEGATIVE
    for kind in found.values():  # the first two of an operation tell what is wrong
        failures.extend(kind[:2])


def _secured(operation: Any) -> bool:
    return bool(operation.definition.raw.get("security"))


def _fuzz_all(sys: System, api: Any, examples: Callable[[Any], int],
              headers: Callable[[], dict[str, str]],
              path_parameters: Callable[[Any], dict[str, Any]],
              before: Callable[[], None] = lambda: None) -> list[str]:
    """Every operation ``examples`` says a number for, valid and invalid requests."""
    failures: list[str] = []
    for number, result in enumerate(api.get_all_operations()):
        operation = result.ok()
        if not examples(operation):
            continue
        before()
        # an address per operation: per-IP limits of one never answer for another
        sys.client.environ_base["REMOTE_ADDR"] = f"2001:db8:f::{number + 1:x}"
        # valid requests on the caller's own resources; invalid ones anywhere
        _fuzz_operation(sys, operation, GenerationMode.POSITIVE, examples(operation), headers,
                        path_parameters(operation), failures)
        _fuzz_operation(sys, operation, GenerationMode.NEGATIVE, examples(operation), headers,
                        {}, failures)
    return failures


def test_no_server_error_nor_wrong_answer_unauthenticated(sys, api):
    started = time.monotonic()
    # a signed-in route answers 401 whatever else is sent: one example tells it is Russian
    failures = _fuzz_all(sys, api, lambda op: 1 if _secured(op) else EXAMPLES, dict,
                         lambda operation: {})
    print(f"unauthenticated: {time.monotonic() - started:.1f} s, {dict(STATUSES)}")
    STATUSES.clear()
    _report(failures)


def test_no_server_error_nor_wrong_answer_as_a_customer(sys, api, customer):
    def headers() -> dict[str, str]:
        return customer.headers

    def own(operation: Any) -> dict[str, Any]:
        # an account's routes answer more than 404 only on the customer's own account
        names = {p.name for p in operation.path_parameters}
        return {"account_id": customer.account_id} if "account_id" in names else {}

    started = time.monotonic()
    failures = _fuzz_all(sys, api, lambda op: EXAMPLES if _secured(op) else 0, headers, own,
                         customer.ensure)
    print(f"customer: {time.monotonic() - started:.1f} s, {dict(STATUSES)}")
    STATUSES.clear()
    _report(failures)


@pytest.fixture
def stateful(sys, api, customer) -> Iterator[type]:
    base = api.as_state_machine()

    class Machine(base):  # type: ignore[misc, valid-type]
        def setup(self) -> None:
            customer.ensure()

        def after_call(self, response: Any, case: Any) -> None:
            super().after_call(response, case)
            STATUSES[f"{response.status_code // 100}xx"] += 1

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"session": sys.client, "headers": customer.headers}

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None,
                              **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS, headers=customer.headers)
            english = russian_error(response.status_code, _json(response))
            assert not english, f"{case.as_curl_command()}\n{english}"

    if SEED is not None:
        hypothesis.seed(int(SEED))(Machine)
    yield Machine


def test_sequences_of_calls_along_the_links(sys, stateful):
    started = time.monotonic()
    settings = hypothesis.settings(_settings(STEPS), stateful_step_count=10)
    run_state_machine_as_test(stateful, settings=settings)
    print(f"stateful: {time.monotonic() - started:.1f} s, {dict(STATUSES)}")
    STATUSES.clear()


def test_errors_a_person_meets_are_russian_with_the_codes_beside(sys, customer):
    """The answers the issue found in English, and the services' own marshmallow words:
    a Russian message and Russian field details; the raised codes in ``field_codes``."""
    customer.ensure()
    me, account = customer.headers, customer.account_id
    payment = sys.client.post(f"{API}/payments", headers=me, json={
        "idempotency_key": str(uuid.uuid4()),
        "items": [{"account_id": account, "kind": "electricity", "amount": "10.00"}]})
    assert payment.status_code == 201, payment.json
    tokens = {"access_token": me["Authorization"].split()[1]}
    assert card(sys, tokens, payment.json).status_code == 200
    answers = {
        "unknown route": sys.client.get(f"{API}/no/such/route"),
        "wrong method": sys.client.delete(f"{API}/readings/window"),
        "too large": sys.client.post(f"{API}/auth/login", data=b"x" * (
            sys.config["MAX_JSON_BYTES"] + 1), content_type="application/json"),
        "no token": sys.client.get(f"{API}/accounts"),
        "broken token": sys.client.get(f"{API}/accounts", headers={"Authorization": "Bearer x"}),
        "gateway shape": sys.client.post(f"{API}/auth/login", json={"phone": 5}),
        "huge id": sys.client.get(f"{API}/accounts/99999999999999999999", headers=me),
        "bad key": sys.client.post(f"{API}/accounts", headers={**me, "Idempotency-Key": "ключ"},
                                   json={"number": "1", "branch": "mostovskoy", "proof": "1"}),
        "a card twice": card(sys, tokens, payment.json),
        "profile (service schema)": sys.client.put(f"{API}/profile/basic", headers=me,
                                                   json={"birth_date": "завтра", "gender": "x"}),
        "requests (service schema)": sys.client.get(
            f"{API}/requests", headers=me, query_string={"status": "nope", "date_from": "x"}),
        # found by the fuzzer: a NUL character reached PostgreSQL (psycopg2's ValueError, 500)
        "NUL in a body": sys.client.post(f"{API}/auth/sms/resend",
                                         json={"verification_id": "\u0000´"}),
        "NUL in a path": sys.client.delete(f"{API}/payments/cards/a%00b", headers=me),
    }
    for what, response in answers.items():
        assert 400 <= response.status_code < 500, (what, response.status_code, response.data)
        assert response.is_json, what
        error = response.json["error"]
        assert not russian_error(response.status_code, response.json), (what, error)
        assert CYRILLIC.search(error["message"]), (what, error)
    assert answers["no token"].json["error"]["field_codes"] == {
        "authorization": "missing Bearer token"}  # what programs (the web cabinet) compare
    assert answers["too large"].status_code == 413
    assert answers["a card twice"].status_code == 409  # the sandbox's words were English
    assert answers["NUL in a body"].json["error"]["fields"] == {
        "verification_id": "Недопустимый символ NUL (\\u0000)"}
    assert answers["NUL in a path"].json["error"]["fields"] == {
        "card_ref": "Недопустимый символ NUL (\\u0000)"}

