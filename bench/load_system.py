"""The system bench/load.py measures, set up as ``make run`` sets it up: a vhost of its own,
per-run PostgreSQL databases (or SQLite files in a temp VAR_DIR), the registry imported with
the accounts CLI from a generated file, every service (readings and payments in N replicas),
the gateway; customers registered and linked through the API; the plain baseline."""
from __future__ import annotations

import random
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
from prometheus_client.parser import text_string_to_metric_families

from bench.load_measure import postgres_backends, rabbitmq, tree
from tests.e2e.stack import SERVICES, Stack, eventually, free_port, make_stack

ROOT = Path(__file__).resolve().parent.parent
REPLICATED = ("readings", "payments")  # the services of the write paths measured
BRANCH = "mostovskoy"


def make_vhost(amqp: str, management: str) -> tuple[str, str]:
    """A vhost of this run: its AMQP URI and its management URL (DELETE it at the end)."""
    name = f"bench-load-{uuid.uuid4().hex[:8]}"
    api = f"{management.rstrip('/')}/api"
    url = f"{api}/vhosts/{quote(name, safe='')}"
    requests.put(url, timeout=10).raise_for_status()
    requests.put(f"{api}/permissions/{quote(name, safe='')}/guest", timeout=10,
                 json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
    base = amqp.rstrip("/").rsplit("/", 1)[0] if amqp.rstrip("/").count("/") > 2 \
        else amqp.rstrip("/")
    return f"{base}/{quote(name, safe='')}", url


@dataclass
class LoadStack(Stack):
    """The e2e stack with ``replicas`` processes of readings and payments, each service
    process under ``bench.load_runner`` (its relay's count on its own METRICS_PORT)."""

    replicas: int = 1
    metrics_ports: dict[str, int] = field(default_factory=dict)

    def commands(self, web: bool = True) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for name, command in super().commands(web).items():
            if name not in SERVICES:
                out[name] = command
                continue
            for k in range(1, (self.replicas if name in REPLICATED else 1) + 1):
                key = name if k == 1 else f"{name}-{k}"
                self.metrics_ports[key] = port = free_port()
                out[key] = ["env", f"METRICS_PORT={port}", sys.executable, "-m",
                            "bench.load_runner", SERVICES[name]]
        return out

    def database(self, service: str) -> str:
        return self._database(service)

    def metric(self, process: str, name: str, **labels: str) -> float:
        """The sum of a metric's samples (matching ``labels``) on a service process."""
        text = requests.get(f"http://127.0.0.1:{self.metrics_ports[process]}/metrics",
                            timeout=10).text
        return sum(s.value for family in text_string_to_metric_families(text)
                   for s in family.samples if s.name == name
                   and all(s.labels.get(k) == v for k, v in labels.items()))

    def pid(self, process: str) -> int:
        return self.processes[process].pid

    def process_groups(self, databases: list[str]) -> dict[str, Any]:
        """For the CPU meter: each process of the stack (the gateway with its workers), the
        broker, and the PostgreSQL backends of ``databases``."""
        groups = {name: tree(p.pid) for name, p in self.processes.items()}
        groups["rabbitmq"] = rabbitmq()
        if databases:
            groups["postgres"] = postgres_backends(databases)
        return groups


def start_stack(var: Path, amqp_uri: str, replicas: int, databases: dict[str, str],
                accounts: int) -> LoadStack:
    """Migrate, import a generated registry of ``accounts`` with the accounts CLI, start
    every process; the defaults of ``make run`` (not the tests' smaller pools)."""
    base = make_stack(var, amqp_uri, ACCESS_TOKEN_TTL="3600", GATEWAY_WORKERS="2",
                      GATEWAY_THREADS="16", SERVICE_MAX_WORKERS="10", OCR_PRELOAD="false",
                      PYTHONUNBUFFERED="1", **databases)
    stack = LoadStack(base.web, base.gateway, base.var, base.env, replicas=replicas)
    stack.prepare(demo=False)
    registry = var / "registry.csv"
    registry.write_text(generate_registry(accounts), encoding="utf-8")
    subprocess.run([sys.executable, "-m", "services.accounts.cli", "import-registry",
                    str(registry), "--quiet"], cwd=ROOT, env=stack.env, check=True,
                   capture_output=True, text=True)
    stack.launch(web=False)
    return stack


HEADER = ("number;branch;holder_name;address;contract_number;contract_date;gis_id;"
          "tariff_category;meter_serial;meter_zones;meter_digits;meter_installed_on;"
          "meter_verification_due")


def generate_registry(accounts: int, seed: int = 15) -> str:
    """A registry CSV (services/accounts/registry_import.py's format) of one-meter accounts;
    account ``i`` is number ``7700000000 + i``, its proof the serial's last 4 digits."""
    rng = random.Random(seed)
    lines = [HEADER]
    for i in range(accounts):
        serial = f"1009{rng.randrange(10**9):09d}"
        lines.append(f"{7700000000 + i};{BRANCH};Иванов Пётр Семёнович;"
                     f"х. Садовый, ул. Ореховая д.{i % 200 + 1};Д-{i};2015-03-01;"
                     f"90BB{i:06d}-11;urban;{serial};1;6;2015-03-01;2035-03-01")
    return "\n".join(lines) + "\n"


def registry_proofs(text: str) -> list[dict[str, str]]:
    rows = [line.split(";") for line in text.splitlines()[1:]]
    return [{"number": r[0], "branch": r[1], "proof": r[8][-4:]} for r in rows]


@dataclass
class Customer:
    token: str
    account_id: int
    serial: str


def customers(stack: LoadStack, count: int, accounts: int) -> list[Customer]:
    """``count`` customers registered by phone, each linking an account of the registry
    (picked at random) and asking for its meters and debt (readings learns the meters of a
    CSV-loaded account by RPC; payments makes its ledger account on first sight)."""
    picked = random.Random(7).sample(registry_proofs(generate_registry(accounts)), count)

    def one(account: dict[str, str]) -> Customer:
        token = stack.register_phone()["access_token"]
        account_id = stack.link_account(token, account)
        meters = eventually(lambda: stack.api("GET", f"/accounts/{account_id}/meters",
                                              token).json(), what="the account's meters")
        meters = meters.get("meters", meters) if isinstance(meters, dict) else meters
        stack.api("GET", f"/accounts/{account_id}/debt", token).raise_for_status()
        return Customer(token, account_id, meters[0]["serial"])

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(one, picked))


def copy_meters(source_url: str, target_url: str) -> int:
    """The stack's readings copy of the meters into the baseline's readings database."""
    from sqlalchemy import create_engine, insert, select

    from services.readings.models import Meter

    source, target = create_engine(source_url), create_engine(target_url)
    try:
        with source.connect() as conn:
            rows = [dict(r) for r in conn.execute(select(Meter.__table__)).mappings()]
        with target.begin() as conn:
            conn.execute(insert(Meter), rows)
    finally:
        source.dispose()
        target.dispose()
    return len(rows)


def start_baseline(stack: LoadStack, database: str) -> tuple[subprocess.Popen, str]:
    """The baseline under gunicorn with the gateway's settings file, on readings' schema in
    ``database`` (its meters copied from the stack's) and the stack's auth database."""
    from shared.db import migrate

    migrate(ROOT / "services" / "readings" / "migrations", database)
    copy_meters(stack.database("readings"), database)
    port = free_port()
    folder = stack.var / "baseline"  # its own metrics folder (gunicorn_conf empties it)
    folder.mkdir(exist_ok=True)
    env = {**stack.env, "VAR_DIR": str(folder), "BENCH_BASELINE_DB": database,
           "AUTH_DATABASE_URL": stack.database("auth"),
           "JWT_PRIVATE_KEY_FILE": str(stack.var / "keys" / "jwt-private.pem"),
           "GATEWAY_BIND": f"127.0.0.1:{port}"}
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "gateway/gunicorn_conf.py",
         "bench.load_baseline:app()"], cwd=ROOT, env=env, start_new_session=True,
        stdout=open(stack.var / "logs" / "baseline.log", "w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    eventually(lambda: _up(f"{url}/healthz", process), timeout=60, what="the baseline")
    return process, url


def _up(url: str, process: subprocess.Popen) -> bool:
    if process.poll() is not None:
        raise RuntimeError(f"the baseline exited ({process.returncode}): see baseline.log")
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False
