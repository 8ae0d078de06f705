"""gunicorn settings of the web cabinet, from the same environment variables as the rest."""
from shared import gunicorn_metrics, logs, settings

_config = settings.load()

# /metrics sums every worker process's (prometheus_client's multi-process mode).
gunicorn_metrics.use_folder(_config["VAR_DIR"], "web")
on_starting = gunicorn_metrics.on_starting
child_exit = gunicorn_metrics.child_exit

bind = _config["WEB_BIND"]
workers = _config["WEB_WORKERS"]
# Threads: each page waits on the API over HTTP, not on the CPU.
worker_class = "gthread"
threads = _config["WEB_THREADS"]
timeout = int(_config["WEB_API_TIMEOUT"]) * 2 + 10  # a page may make a few API calls
graceful_timeout = 10
accesslog = None  # the app logs each request as JSON
# gunicorn's own lines (startup, workers) as JSON too, like every other line.
logconfig_dict = logs.gunicorn_logconfig("web", _config["LOG_LEVEL"])
# gunicorn 27 opens a control socket at ~/.gunicorn/gunicorn.ctl by default: the gateway and
# the cabinet would share that path (and a read-only root file system has no such home).
control_socket_disable = True
