"""gunicorn settings from the same environment variables as everything else."""
from shared import gunicorn_metrics, logs, settings

_config = settings.load()

# /metrics sums every worker process's (prometheus_client's multi-process mode).
gunicorn_metrics.use_folder(_config["VAR_DIR"], "gateway")
on_starting = gunicorn_metrics.on_starting
child_exit = gunicorn_metrics.child_exit

bind = _config["GATEWAY_BIND"]
workers = _config["GATEWAY_WORKERS"]
# Threads, not eventlet: each request thread borrows one RPC proxy from the pool.
worker_class = "gthread"
threads = _config["GATEWAY_THREADS"]
timeout = int(_config["RPC_TIMEOUT"]) + 20
graceful_timeout = 10
accesslog = None  # the app logs each request as JSON
# gunicorn's own lines (startup, workers) as JSON too, like every other line.
logconfig_dict = logs.gunicorn_logconfig("gateway", _config["LOG_LEVEL"])
limit_request_line = 8190
limit_request_fields = 100
# gunicorn 27 opens a control socket at ~/.gunicorn/gunicorn.ctl by default: the gateway and
# the cabinet would share that path (and a read-only root file system has no such home).
control_socket_disable = True
