"""The whole system as a customer meets it: every service, the gateway and the web cabinet
as processes of their own (as `make run` starts them), on a vhost and a folder of this
test run, with SMS and e-mail in the file outbox."""
from __future__ import annotations

import json
import os
import random
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import phonenumbers
import requests

ROOT = Path(__file__).resolve().parents[2]
CAPTCHA = "TEST7"
ACCESS_TTL = 45  # seconds; the cabinet renews an access token 30 s before it expires
PASSWORD = "Ток-2026-безопасно"
SERVICES = {
    "auth": "services.auth.service:AuthService",
    "accounts": "services.accounts.service:AccountsService",
    "readings": "services.readings.service:ReadingsService",
    "payments": "services.payments.service:PaymentsService",
    "documents": "services.documents.service:DocumentsService",
    "requests": "services.requests.service:RequestsService",
}
DEMO_ACCOUNT = {"number": "123456789", "branch": "mostovskoy", "proof": "2333"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def eventually(probe: Callable[[], Any], timeout: float = 30, what: str = "a condition",
               interval: float = 0.2) -> Any:
    """Poll ``probe`` until it returns something truthy (the system is asynchronous)."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


def new_phone() -> str:
    """A Russian mobile number nobody else in this run has (one phonenumbers calls valid:
    not every +79… range is allocated, and registration refuses the rest)."""
    while True:
        phone = "+79" + "".join(random.choice("0123456789") for _ in range(9))
        if phonenumbers.is_valid_number(phonenumbers.parse(phone)):
            return phone


@dataclass
class Stack:
    web: str       # the cabinet, e.g. http://127.0.0.1:41234
    gateway: str   # the API's origin (add /api/v1)
    var: Path
    env: dict[str, str]
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    has_web: bool = True

    # -- the outbox: what the customer receives by SMS and e-mail --------------------------

    def messages(self, to: str | None = None, channel: str | None = None) -> list[dict[str, Any]]:
        folder = self.var / "outbox"
        found = []
        for path in sorted(folder.glob("*.json")) if folder.exists() else []:
            message = json.loads(path.read_text(encoding="utf-8"))
            if to and message["to"].lower() != to.lower():
                continue
            if channel and message["channel"] != channel:
                continue
            found.append(message)
        return found

    def sms_code(self, phone: str, after: int = 0) -> str:
        """The code of the newest SMS to ``phone`` (waits for the ``after``+1-th one)."""
        texts = eventually(lambda: [m["body"] for m in self.messages(phone, "sms")][after:],
                           what=f"an SMS to {phone}")
        return re.search(r"\b(\d{6})\b", texts[-1]).group(1)

    def mail_link(self, email: str, contains: str = "token=", after: int = 0) -> str:
        """The link in the newest letter to ``email`` that holds ``contains``."""
        def probe() -> list[str]:
            bodies = [m["body"] for m in self.messages(email, "email")][after:]
            return [url for body in bodies for url in re.findall(r"https?://\S+", body)
                    if contains in url]
        return eventually(probe, what=f"a letter to {email} with {contains}")[-1]

    # -- the API, for setting up what a test is not about ---------------------------------

    def api(self, method: str, path: str, token: str | None = None, **kwargs: Any
            ) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, f"{self.gateway}/api/v1{path}", headers=headers,
                                timeout=30, **kwargs)

    def register_phone(self, phone: str | None = None, password: str = PASSWORD
                       ) -> dict[str, Any]:
        """A customer registered by phone through the API; their phone, password, tokens."""
        phone = phone or new_phone()
        captcha = self.api("POST", "/auth/captcha").json()["captcha_id"]
        sent = len(self.messages(phone, "sms"))
        r = self.api("POST", "/auth/register/phone", json={
            "phone": phone, "captcha_id": captcha, "captcha_answer": CAPTCHA})
        assert r.status_code == 202, r.text
        code = self.sms_code(phone, after=sent)
        r = self.api("POST", "/auth/register/phone/verify", json={
            "verification_id": r.json()["verification_id"], "code": code})
        assert r.status_code == 200, r.text
        consent = self.api("GET", "/auth/consent").json()["version"]
        r = self.api("POST", "/auth/register/phone/complete", json={
            "registration_token": r.json()["registration_token"], "password": password,
            "password_confirmation": password, "consent_version": consent})
        assert r.status_code == 201, r.text
        return {"phone": phone, "password": password, **r.json()}

    def link_demo_account(self, token: str) -> int:
        """Link the demo account 123456789 (Мостэнергосбыт, proof 2333); its id."""
        r = self.api("POST", "/accounts", token, json={
            "number": DEMO_ACCOUNT["number"], "branch": DEMO_ACCOUNT["branch"],
            "proof": DEMO_ACCOUNT["proof"]})
        assert r.status_code == 201, r.text
        return r.json()["id"]

    def make_staff(self, role: str = "operator") -> dict[str, str]:
        """An operator (or admin) made with the auth CLI, as ops would."""
        email = f"{role}-{random.randrange(10**9)}@nesk.example"
        subprocess.run([sys.executable, "-m", "services.auth.cli", "create-user", "--role", role,
                        "--email", email], input=f"{PASSWORD}\n{PASSWORD}\n", text=True,
                       cwd=ROOT, env=self.env, check=True, capture_output=True)
        return {"email": email, "password": PASSWORD}

    # -- billing on the bus (as a billing system publishes), for pages about money ----------

    def _database(self, service: str) -> str:
        return (self.env.get(f"{service.upper()}_DATABASE_URL")
                or f"sqlite:///{self.var / (service + '.db')}")

    def billing(self, service: str, event_type: str, payload: dict[str, Any]) -> None:
        """Publish a ``billing.<event_type>`` event and wait until ``service`` handled it."""
        from tests.integration.bus import publish, wait_handled

        envelope = publish(self.env["AMQP_URI"], "billing", event_type, payload)
        wait_handled(self._database(service), envelope["id"], timeout=30)

    def open_account(self, branch: str = "mostovskoy") -> dict[str, str]:
        """Billing opens a new account with one meter (nobody else's ledger): its number,
        branch and proof (the last 4 digits of the meter's serial)."""
        number = "2399" + "".join(random.choice("0123456789") for _ in range(8))
        serial = "10009" + "".join(random.choice("0123456789") for _ in range(8))
        self.billing("accounts", "account_upserted", {
            "number": number, "branch": branch, "holder_name": "Петров Иван Сергеевич",
            "address": "х. Садовый, ул. Ореховая д.12", "contract_number": "Д-1",
            "contract_date": "2015-03-01", "gis_id": "90BB144120-11",
            "tariff_category": "urban"})
        self.billing("accounts", "meter_installed", {
            "number": number, "branch": branch, "serial": serial, "zones": 1, "digits": 5,
            "installed_on": "2015-03-01", "verification_due": "2035-03-01"})
        return {"number": number, "branch": branch, "proof": serial[-4:]}

    def link_account(self, token: str, account: dict[str, str]) -> int:
        """Link an account opened by :meth:`open_account`; its id."""
        r = self.api("POST", "/accounts", token, json={
            "number": account["number"], "branch": account["branch"], "proof": account["proof"]})
        assert r.status_code == 201, r.text
        return r.json()["id"]

    def post_charge(self, number: str, period: str, amount: str, branch: str = "mostovskoy",
                    token: str | None = None, account_id: int | None = None) -> None:
        """Billing charges the account for ``period`` (``YYYY-MM``); with a token and the
        account's id, waits until its debt shows the charge."""
        self.billing("payments", "charge_posted", {"number": number, "branch": branch,
                                                   "period": period, "amount": amount})
        if token and account_id:
            eventually(lambda: any(
                p["period"] == period for p in self.api(
                    "GET", f"/accounts/{account_id}/debt", token).json().get("periods", [])),
                what=f"the charge for {period} in the debt")
            # The list over all accounts learns of a link from an event: wait for it too.
            eventually(lambda: any(
                a["account_id"] == account_id for a in self.api(
                    "GET", "/payments/debt", token).json().get("accounts", [])),
                what="the account in the debt of all accounts")

    def log(self, name: str) -> str:
        return (self.var / "logs" / f"{name}.log").read_text(encoding="utf-8", errors="replace")

    # -- life --------------------------------------------------------------------------------

    def commands(self, web: bool = True) -> dict[str, list[str]]:
        """The processes of the system, as the Procfile names them."""
        python = sys.executable
        commands = {name: [python, "-m", "shared.runner", target]
                    for name, target in SERVICES.items()}
        commands["ocr-worker"] = [python, "-m", "services.readings.ocr_worker"]  # reads bill photos
        bin_dir = Path(python).parent
        commands["gateway"] = [str(bin_dir / "gunicorn"), "-c", "gateway/gunicorn_conf.py",
                               "gateway.wsgi:app"]
        if web:
            commands["web"] = [str(bin_dir / "gunicorn"), "-c", "web/gunicorn_conf.py",
                               "web.wsgi:app"]
        return commands

    def start(self, demo: bool = True, web: bool = True, supervised: bool = False) -> None:
        """:meth:`prepare` and :meth:`launch`."""
        self.prepare(demo)
        self.launch(web, supervised)

    def prepare(self, demo: bool = True) -> None:
        """Migrate the databases and load the demo data (``demo``): no broker needed yet."""
        (self.var / "logs").mkdir(parents=True, exist_ok=True)
        python = sys.executable
        run = lambda *cmd: subprocess.run(cmd, cwd=ROOT, env=self.env, check=True,  # noqa: E731
                                          capture_output=True, text=True)
        run(python, "-m", "shared.migrate")
        if demo:
            run(python, "-m", "services.accounts.cli", "import-registry",
                "services/accounts/demo_registry.csv", "--quiet")
            # The demo account's year of readings, bills and payments, as `make run` loads it.
            account = run(python, "-m", "services.accounts.cli", "demo").stdout
            run(python, "-m", "services.readings.cli", "demo", "--account", account)
            run(python, "-m", "services.payments.cli", "demo", "--account", account)

    def launch(self, web: bool = True, supervised: bool = False) -> None:
        """Start every process and wait until the system is ready. ``supervised``: one
        ``shared.supervise`` process runs them all from a Procfile (as ``make run`` does, so
        a process that dies is restarted); its output, every process's prefixed, is the log
        ``supervisor``."""
        python = sys.executable
        self.has_web = web
        commands = self.commands(web)
        if supervised:
            procfile = self.var / "Procfile"
            procfile.write_text("".join(f"{name}: {shlex.join(command)}\n"
                                        for name, command in commands.items()))
            commands = {"supervisor": [python, "-m", "shared.supervise", str(procfile),
                                       "--grace", "5"]}
        for name, command in commands.items():
            out = open(self.var / "logs" / f"{name}.log", "w")
            self.processes[name] = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=out,
                                                    stderr=subprocess.STDOUT,
                                                    start_new_session=True)
        try:
            eventually(self._ready, timeout=300, what="the whole system to be ready",
                       interval=0.5)
        except AssertionError:
            self.stop()
            raise AssertionError("the system did not start:\n" + "\n".join(
                f"--- {n}\n{self.log(n)[-3000:]}" for n in self.processes))

    def _ready(self) -> bool:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise AssertionError(f"{name} exited:\n{self.log(name)[-4000:]}")
        try:
            return (requests.get(f"{self.gateway}/readyz", timeout=5).status_code == 200
                    and (not self.has_web
                         or requests.get(f"{self.web}/healthz", timeout=5).status_code == 200))
        except requests.RequestException:
            return False

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        self._kill_leftovers()

    def _kill_leftovers(self) -> None:
        """SIGKILL to any process still running with this stack's VAR_DIR: a supervisor
        killed before it stopped its children (they run in sessions of their own) would
        leave them behind, retrying a broker that is gone."""
        mark = f"VAR_DIR={self.var}".encode()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                if mark in (entry / "environ").read_bytes().split(b"\0"):
                    os.kill(int(entry.name), signal.SIGKILL)
            except (OSError, ValueError):
                continue  # gone meanwhile, or not ours to read


def make_stack(var: Path, amqp_uri: str, **overrides: str) -> Stack:
    gateway_port, web_port = free_port(), free_port()
    web = f"http://127.0.0.1:{web_port}"
    env = {**os.environ, "NESK_ENV": "test", "VAR_DIR": str(var), "AMQP_URI": amqp_uri,
           "CAPTCHA_TEST_ANSWER": CAPTCHA, "SMS_BACKEND": "file", "EMAIL_BACKEND": "file",
           "GATEWAY_BIND": f"127.0.0.1:{gateway_port}", "WEB_BIND": f"127.0.0.1:{web_port}",
           "GATEWAY_URL": f"http://127.0.0.1:{gateway_port}", "PUBLIC_URL": web,
           "GATEWAY_WORKERS": "1", "GATEWAY_THREADS": "8", "WEB_WORKERS": "1",
           "WEB_THREADS": "8", "TRUSTED_PROXIES": "1", "SERVICE_MAX_WORKERS": "6",
           "LOG_LEVEL": "WARNING", "SMS_PER_IP_HOURLY": "10000", "SMS_PER_PHONE_HOURLY": "50",
           "READING_WINDOW_START_DAY": "1", "READING_WINDOW_END_DAY": "31",
           # Short access tokens: every test that runs longer renews them through the cabinet
           # (the renewal is then tested all the time), and an ended session shows soon.
           "ACCESS_TOKEN_TTL": str(ACCESS_TTL),
           "PYTHONDONTWRITEBYTECODE": "1", **overrides}
    for key in ("AUTH", "ACCOUNTS", "READINGS", "PAYMENTS", "DOCUMENTS", "REQUESTS"):
        if f"{key}_DATABASE_URL" not in overrides:
            env.pop(f"{key}_DATABASE_URL", None)  # SQLite files under VAR_DIR
    return Stack(web, f"http://127.0.0.1:{gateway_port}", var, env)
