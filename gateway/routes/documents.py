"""Routes of the documents service: РАЗДЕЛ «ДОКУМЕНТЫ» (bills as PDF, «Документы для соц.
нормы») and the operators' review of the documents."""
from gateway.routes import Route
from gateway.schemas import Paged
from gateway.schemas import documents as s
from gateway.schemas.answers import documents as a

ACCOUNT = "/accounts/<int:account_id>"
DOCUMENT = "/documents/<int:document_id>"
OPERATOR = "/operator/documents/<int:document_id>"
STAFF = ("operator", "admin")

ROUTES: tuple[Route, ...] = (
    Route("GET", ACCOUNT + "/bills", "documents.bills",
          "Квитанции лицевого счёта: периоды с начислением, новые сверху, постранично",
          Paged, auth=True, source="query", tag="documents", errors=(400, 401, 403, 404, 422),
          response=a.BillPage),
    Route("GET", ACCOUNT + "/bills/<period>", "documents.bill",
          "Сформировать квитанцию за период (ГГГГ-ММ): PDF с QR-кодом для оплаты", auth=True,
          download=True, tag="documents", errors=(401, 403, 404, 409, 422)),
    Route("GET", "/documents/types", "documents.document_types",
          "Типы документов для соц. нормы (тарифных диапазонов и льгот) и категории тарифа, "
          "которые они подтверждают", tag="documents", errors=(),
          response=a.DocumentType(many=True)),
    Route("GET", ACCOUNT + "/documents", "documents.my_documents",
          "Документы для соц. нормы по лицевому счёту: статус и причина отказа, новые сверху, "
          "постранично", Paged, auth=True, source="query", tag="documents",
          errors=(400, 401, 403, 404, 422), response=a.DocumentPage),
    Route("POST", ACCOUNT + "/documents", "documents.upload_document",
          "Подать документ: тип и файл (JPEG, PNG или PDF)", s.Upload, 201, auth=True,
          upload=True, tag="documents", errors=(400, 401, 403, 404, 413, 422), idempotent=True,
          response=a.Document),
    Route("POST", DOCUMENT + "/withdraw", "documents.withdraw_document",
          "Отозвать документ, пока по нему нет решения", auth=True, tag="documents",
          errors=(401, 403, 404, 409), response=a.Document),
    Route("GET", DOCUMENT + "/file", "documents.document_file",
          "Файл документа — пользователям счёта или оператору", auth=True, download=True,
          tag="documents", errors=(401, 403, 404)),
    Route("GET", "/operator/documents", "documents.pending_documents",
          "Документы на рассмотрении (оператор): фильтры по статусу и филиалу, постранично",
          s.Pending, auth=True, roles=STAFF, source="query", tag="operator",
          errors=(400, 401, 403, 422), response=a.PendingPage),
    Route("GET", OPERATOR, "documents.operator_document",
          "Документ (оператор): счёт, тип, статус и решение — без файла", auth=True,
          roles=STAFF, tag="operator", errors=(401, 403, 404), response=a.StaffDocument),
    Route("POST", OPERATOR + "/open", "documents.open_document",
          "Открыть файл документа (оператор); поданный документ становится «на рассмотрении»",
          auth=True, roles=STAFF, download=True, tag="operator", errors=(401, 403, 404)),
    Route("POST", OPERATOR + "/review", "documents.review_document",
          "Принять документ (с новой категорией тарифа счёта) или отклонить с причиной",
          s.Review, auth=True, roles=STAFF, tag="operator",
          errors=(400, 401, 403, 404, 409, 422), response=a.StaffDocument),
)
