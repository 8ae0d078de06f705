"""gunicorn entry: ``gunicorn -c gateway/gunicorn_conf.py gateway.wsgi:app``."""
from gateway.app import create_app
from shared import logs, settings

_config = settings.load()
logs.configure("gateway", _config["LOG_LEVEL"])
app = create_app(_config)
