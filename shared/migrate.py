"""Apply every service's migrations: ``python -m shared.migrate`` (``make migrate``)."""
from __future__ import annotations

import importlib

from shared import settings
from shared.db import migrate

SERVICE_MODULES = {"auth": "services.auth.service", "accounts": "services.accounts.service",
                   "readings": "services.readings.service",
                   "payments": "services.payments.service",
                   "documents": "services.documents.service",
                   "requests": "services.requests.service"}


def main() -> None:
    config = settings.load()
    for service, module in SERVICE_MODULES.items():
        migrate(importlib.import_module(module).MIGRATIONS, settings.database_url(config, service))
        print(f"{service}: migrated")


if __name__ == "__main__":
    main()
