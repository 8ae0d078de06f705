"""Routes of the notice feed and the page header (served by the accounts service)."""
from gateway.routes import Route
from gateway.schemas import accounts as s
from gateway.schemas.answers import accounts as a

ROUTES: tuple[Route, ...] = (
    Route("GET", "/summary", "accounts.summary",
          "Шапка страницы: непрочитанные уведомления, число счетов, общий баланс", auth=True,
          tag="notices", errors=(401,), response=a.HeaderSummary),
    Route("GET", "/notices", "accounts.my_notices", "Уведомления, новые сверху", s.NoticeQuery,
          auth=True, source="query", tag="notices", errors=(400, 401, 422), response=a.NoticePage),
    Route("POST", "/notices/<int:notice_id>/read", "accounts.mark_notice_read",
          "Отметить уведомление прочитанным", auth=True, tag="notices", errors=(401, 404),
          response=a.Notice),
    Route("POST", "/notices/read-all", "accounts.mark_all_notices_read",
          "Отметить все уведомления прочитанными", auth=True, tag="notices", errors=(401,),
          response=a.Unread),
)
