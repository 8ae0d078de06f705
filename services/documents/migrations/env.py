from services.documents.models import DocumentsBase
from shared.db import run_migrations_online

run_migrations_online(DocumentsBase.metadata, "documents")
