"""gunicorn entry: ``gunicorn -c web/gunicorn_conf.py web.wsgi:app``."""
from shared import logs, settings
from web.app import create_app

_config = settings.load()
logs.configure("web", _config["LOG_LEVEL"])
app = create_app(_config)
