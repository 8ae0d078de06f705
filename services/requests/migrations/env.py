from services.requests.models import RequestsBase
from shared.db import run_migrations_online

run_migrations_online(RequestsBase.metadata, "requests")
