"""Routes of the readings service: ПЕРЕДАЧА ПОКАЗАНИЙ and the Показания tab."""
from gateway.routes import Route
from gateway.schemas import Paged
from gateway.schemas import readings as s
from gateway.schemas.answers import readings as a

ACCOUNT = "/accounts/<int:account_id>"

ROUTES: tuple[Route, ...] = (
    Route("GET", ACCOUNT + "/meters", "readings.meters",
          "Счётчики лицевого счёта: зоны, последние показания, дата поверки", auth=True,
          tag="readings", errors=(401, 404), response=a.MeterState(many=True)),
    Route("GET", "/readings/window", "readings.window",
          "Когда принимаются показания: открыт ли приём сегодня, даты этого (или "
          "следующего) окна приёма", tag="readings", errors=(), response=a.Window),
    Route("POST", ACCOUNT + "/readings/preview", "readings.preview",
          "Проверить показания до отправки: расход по зонам, предупреждение о большом "
          "расходе, примерная сумма начисления по тарифу счёта", s.Preview, auth=True,
          tag="readings", errors=(400, 401, 403, 404, 410, 422), response=a.ReadingPreview),
    Route("POST", ACCOUNT + "/readings", "readings.submit",
          "Передать показания (по одному числу на зону счётчика)", s.Submit, 201, auth=True,
          tag="readings", errors=(400, 401, 403, 404, 410, 422), idempotent=True,
          response=a.Submitted, example=a.SUBMITTED_EXAMPLE),
    Route("POST", "/readings/quick", "readings.quick_submit",
          "Передать показания без входа: номер счёта, филиал, цифры номера счётчика, капча",
          s.QuickSubmit, 201, tag="readings", errors=(400, 404, 410, 422, 429), idempotent=True,
          response=a.Submitted),
    Route("POST", ACCOUNT + "/readings/photo", "readings.read_photo",
          "Показания с фото квитанции: фото принимается сразу (202) и распознаётся в "
          "очереди; результат — по адресу poll_url (ничего не передаётся)", s.BillPhoto, 202,
          auth=True, upload=True, tag="readings", errors=(400, 401, 403, 404, 413, 422),
          idempotent=True, response=a.PhotoQueued,
          location=ACCOUNT + "/readings/photo/{job_id}"),
    Route("GET", ACCOUNT + "/readings/photo/<job_id>", "readings.photo_job",
          "Распознавание фото квитанции: queued, running, done (номер счёта, счётчики и "
          "показания по зонам с уверенностью и состоянием sure / check / not_found) или "
          "failed с причиной", auth=True, tag="readings", errors=(401, 403, 404),
          response=a.PhotoJob),
    Route("GET", ACCOUNT + "/readings", "readings.history",
          "История показаний всех счётчиков счёта, с расходом; новые периоды сверху, "
          "постранично", Paged, auth=True, source="query", tag="readings",
          errors=(400, 401, 404, 422), response=a.HistoryPage),
)
