from services.payments.models import PaymentsBase
from shared.db import run_migrations_online

run_migrations_online(PaymentsBase.metadata, "payments")
