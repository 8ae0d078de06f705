"""Kubernetes exec probe of a nameko service: ``python -m shared.probe auth``.

Exit 0 when the service answers an RPC ping (it reached its database) within READY_TIMEOUT.
"""
from __future__ import annotations

import sys

from nameko.standalone.rpc import ClusterRpcProxy

from shared import settings


def main(argv: list[str]) -> int:
    config = settings.load()
    try:
        with ClusterRpcProxy({"AMQP_URI": config["AMQP_URI"]},
                             timeout=config["READY_TIMEOUT"]) as cluster:
            cluster[argv[0]].ping()
    except Exception as exc:  # any failure means "not ready"
        print(f"{argv[0]} not ready: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
