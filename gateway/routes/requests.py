"""Routes of the requests service: РАЗДЕЛ «УСЛУГИ» (customers), the queue (operators), the
catalogue of works (admins)."""
from gateway.routes import Route
from gateway.schemas import Paged
from gateway.schemas import requests as s
from gateway.schemas.answers import requests as a

REQUEST = "/requests/<int:request_id>"
OPERATOR = "/operator/requests/<int:request_id>"
STAFF = ("operator", "admin")

ROUTES: tuple[Route, ...] = (
    Route("GET", "/requests/catalogue", "requests.catalogue",
          "Перечень услуг: нужен ли лицевой счёт, цена (если задана)", tag="requests",
          errors=(), response=a.Work(many=True)),
    Route("POST", "/requests", "requests.create",
          "«+ Заказать услугу»: услуга, лицевой счёт (или филиал и адрес), сообщение, файлы, "
          "контактный телефон, удобное время", s.Order, 201, auth=True, upload=True,
          tag="requests", errors=(400, 401, 403, 404, 413, 422), idempotent=True,
          response=a.RequestDetail),
    Route("GET", "/requests", "requests.my_requests",
          "Мои заявки: статус, непрочитанные ответы; новые сверху, постранично", Paged,
          auth=True, source="query", tag="requests", errors=(400, 401, 422),
          response=a.RequestPage),
    Route("GET", "/requests/counts", "requests.my_counts",
          "Для шапки: открытые заявки и непрочитанные ответы", auth=True, tag="requests",
          errors=(401,), response=a.Counts),
    Route("GET", REQUEST, "requests.get",
          "Заявка: история статусов и последние 20 сообщений переписки (ответы отмечаются "
          "прочитанными)", auth=True, tag="requests", errors=(401, 404),
          response=a.RequestDetail),
    Route("GET", REQUEST + "/messages", "requests.messages",
          "Переписка по заявке постранично, старые сверху: next — более поздние сообщения, "
          "earlier — более ранние", Paged, auth=True, source="query", tag="requests",
          errors=(400, 401, 404, 422), response=a.MessagePage),
    Route("POST", REQUEST + "/cancel", "requests.cancel",
          "Отменить заявку (пока не назначена дата работ)", s.Cancel, auth=True,
          tag="requests", errors=(400, 401, 404, 409, 422), response=a.RequestDetail),
    Route("POST", REQUEST + "/messages", "requests.post_message",
          "Написать оператору по заявке (текст и файлы)", s.Note, 201, auth=True, upload=True,
          tag="requests", errors=(400, 401, 404, 409, 413, 422), idempotent=True,
          response=a.RequestDetail),
    Route("GET", REQUEST + "/attachments/<attachment_id>", "requests.attachment",
          "Файл из переписки — клиенту заявки или оператору", auth=True, download=True,
          tag="requests", errors=(401, 404)),
    Route("GET", "/operator/requests", "requests.queue",
          "Очередь заявок (оператор): фильтры по статусу, услуге, филиалу, дате, исполнителю",
          s.Queue, auth=True, roles=STAFF, source="query", tag="operator",
          errors=(400, 401, 403, 422), response=a.QueuePage),
    Route("GET", "/operator/staff", "requests.staff",
          "Операторы и администраторы, которым можно назначить заявку", auth=True,
          roles=STAFF, tag="operator", errors=(401, 403), response=a.Staff(many=True)),
    Route("GET", OPERATOR, "requests.operator_view",
          "Заявка глазами оператора (сообщения клиента отмечаются прочитанными)", auth=True,
          roles=STAFF, tag="operator", errors=(401, 403, 404), response=a.StaffRequestDetail),
    Route("GET", OPERATOR + "/messages", "requests.operator_messages",
          "Переписка по заявке (оператор) постранично, старые сверху: next — более поздние, "
          "earlier — более ранние", Paged, auth=True, roles=STAFF, source="query",
          tag="operator", errors=(400, 401, 403, 404, 422), response=a.MessagePage),
    Route("POST", OPERATOR + "/assign", "requests.assign",
          "Назначить исполнителя (себя или другого оператора)", s.Assign, auth=True,
          roles=STAFF, tag="operator", errors=(400, 401, 403, 404, 409, 422),
          response=a.StaffRequestDetail),
    Route("POST", OPERATOR + "/accept", "requests.accept", "Принять заявку в работу",
          auth=True, roles=STAFF, tag="operator", errors=(401, 403, 404, 409),
          response=a.StaffRequestDetail),
    Route("POST", OPERATOR + "/schedule", "requests.schedule",
          "Назначить (или перенести) дату и время работ", s.Schedule, auth=True, roles=STAFF,
          tag="operator", errors=(400, 401, 403, 404, 409, 422), response=a.StaffRequestDetail),
    Route("POST", OPERATOR + "/complete", "requests.complete", "Работы выполнены",
          auth=True, roles=STAFF, tag="operator", errors=(401, 403, 404, 409),
          response=a.StaffRequestDetail),
    Route("POST", OPERATOR + "/reject", "requests.reject", "Отклонить заявку с причиной",
          s.Reason, auth=True, roles=STAFF, tag="operator",
          errors=(400, 401, 403, 404, 409, 422), response=a.StaffRequestDetail),
    Route("POST", OPERATOR + "/messages", "requests.reply",
          "Ответить клиенту по заявке (текст и файлы)", s.Note, 201, auth=True, roles=STAFF,
          upload=True, tag="operator", errors=(400, 401, 403, 404, 409, 413, 422), idempotent=True,
          response=a.StaffRequestDetail),
    Route("GET", "/admin/works", "requests.all_works",
          "Перечень услуг со скрытыми (только admin)", auth=True, roles=("admin",),
          tag="admin", errors=(401, 403), response=a.AdminWork(many=True)),
    Route("PUT", "/admin/works/<code>", "requests.save_work",
          "Добавить или изменить услугу: название, описание, нужен ли счёт, цена, показ "
          "(только admin)", s.WorkFields, auth=True, roles=("admin",), tag="admin",
          errors=(400, 401, 403, 422), response=a.AdminWork),
)
