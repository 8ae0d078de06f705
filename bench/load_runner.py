"""``python -m bench.load_runner package.module:ServiceClass``: ``shared.runner`` as ``make run``
starts a service, plus a counter of the events this process's outbox relay had confirmed by
the broker, ``nesk_bench_relayed_total`` on the process's ``/metrics`` (METRICS_PORT). With
two replicas it tells which one sent the events (the relay holds the outbox by a lock, so one
at a time). A counter increment per relay pass: nothing measurable next to the pass."""
from __future__ import annotations

import shared.runner as runner  # first: it monkey-patches with eventlet before sockets exist

import sys  # noqa: E402
from typing import Any  # noqa: E402

from prometheus_client import Counter  # noqa: E402

from shared.outbox import OutboxRelay, Pass  # noqa: E402

RELAYED = Counter("nesk_bench_relayed", "Outbox events this process's relay had confirmed.")
_relay_pass = OutboxRelay.relay_pass


def _counted(self: OutboxRelay, *args: Any, **kwargs: Any) -> Pass:
    done = _relay_pass(self, *args, **kwargs)
    RELAYED.inc(done.sent)
    return done


OutboxRelay.relay_pass = _counted  # type: ignore[method-assign]

if __name__ == "__main__":
    sys.exit(runner.main())
