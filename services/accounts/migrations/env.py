from services.accounts.models import AccountsBase
from shared.db import run_migrations_online

run_migrations_online(AccountsBase.metadata, "accounts")
