"""gunicorn's part of the HTTP metrics (shared.metrics): several worker processes, one /metrics.

prometheus_client's multi-process mode: each worker writes its figures to files in
``PROMETHEUS_MULTIPROC_DIR`` and a scrape, answered by any worker, sums them. The library
picks its mode when first imported, so the folder is set in ``gunicorn_conf.py`` before
anything imports it, and nothing here imports it at module level (the master stays free of
the metric objects; the workers make their own after the fork)::

    gunicorn_metrics.use_folder(_config["VAR_DIR"], "gateway")
    on_starting = gunicorn_metrics.on_starting
    child_exit = gunicorn_metrics.child_exit
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

ENV = "PROMETHEUS_MULTIPROC_DIR"


def use_folder(var_dir: str, app: str) -> Path:
    """Keep the workers' metrics of ``app`` in ``$VAR_DIR/metrics/<app>`` (one per app: the
    gateway and the web cabinet share the environment)."""
    folder = Path(var_dir) / "metrics" / app
    os.environ[ENV] = str(folder)
    return folder


def on_starting(server: Any) -> None:
    """gunicorn master, before any worker: an empty folder (a previous run's counts would
    otherwise be summed in)."""
    folder = Path(os.environ[ENV])
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)


def child_exit(server: Any, worker: Any) -> None:
    """gunicorn master, a worker has exited: its live gauges are dropped."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
