from services.readings.models import ReadingsBase
from shared.db import run_migrations_online

run_migrations_online(ReadingsBase.metadata, "readings")
