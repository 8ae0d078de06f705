from services.auth.models import AuthBase
from shared.db import run_migrations_online

run_migrations_online(AuthBase.metadata, "auth")
