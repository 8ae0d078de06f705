"""Many customers at once: no request may fail because another holds the database.

(On SQLite under eventlet a blocking busy-wait once froze the whole service: requests that
overlapped a login's password hashing or the outbox relay timed out as 503.)"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.integration.helpers import PASSWORD, bearer, new_phone, register_by_phone


def test_parallel_logins_registrations_and_reads_all_succeed(sys, system):
    phones = [new_phone() for _ in range(4)]
    for phone in phones:
        register_by_phone(sys, phone)
    app = system.client.application

    def customer(n: int) -> list[int]:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"2001:db8:c::{n:x}"
        statuses = []
        for _ in range(2):
            login = client.post("/api/v1/auth/login",
                                json={"phone": phones[n % len(phones)], "password": PASSWORD})
            statuses.append(login.status_code)
            if login.status_code == 200:
                statuses.append(client.get("/api/v1/auth/me", headers=bearer(login.json)).status_code)
                statuses.append(client.post("/api/v1/auth/captcha").status_code)
        return statuses

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = [s for statuses in pool.map(customer, range(10)) for s in statuses]
    assert results and all(s in (200, 201) for s in results), sorted(set(results))
