"""Routes of the payments service: ОПЛАТА ЗАДОЛЖЕННОСТИ И(ИЛИ) ПЕНИ and the Платежи tabs."""
from gateway.routes import Route
from gateway.schemas import payments as s
from gateway.schemas.answers import payments as a

ACCOUNT = "/accounts/<int:account_id>"
T = "payments"

ROUTES: tuple[Route, ...] = (
    Route("GET", ACCOUNT + "/debt", "payments.statement",
          "Задолженность по периодам, пени и сумма к оплате по лицевому счёту", auth=True,
          tag=T, errors=(401, 404), response=a.Statement, example=a.DEBT_EXAMPLE),
    Route("GET", ACCOUNT + "/penalties", "payments.penalty_details",
          "Как начислены пени: по каждому долгу дни, доля ставки, ставка, база; и сколько "
          "будет при оплате в выбранный день", s.PayOn, auth=True, source="query", tag=T,
          errors=(400, 401, 404, 422), response=a.PenaltyDetails),
    Route("GET", "/payments/debt", "payments.my_debt",
          "Задолженность и пени по всем лицевым счетам", auth=True, tag=T, errors=(401,),
          response=a.AllDebt),
    Route("POST", "/payments", "payments.pay",
          "Оплатить банковской картой или через СБП долг и(или) пени по одному или "
          "нескольким счетам (с кассовым чеком 54-ФЗ)",
          s.Pay, 201, auth=True, tag=T, errors=(400, 401, 403, 404, 409, 422, 503),
          idempotent=True, response=a.Payment, example=a.PAYMENT_EXAMPLE),
    Route("GET", "/payments/history", "payments.history",
          "Полная история платежей (или одного счёта: account_id), по датам, постранично",
          s.History, auth=True, source="query", tag=T, errors=(400, 401, 404, 422),
          response=a.HistoryPage),
    Route("GET", "/payments/cards", "payments.cards", "Сохранённые карты", auth=True, tag=T,
          errors=(401,), response=a.Card(many=True)),
    Route("DELETE", "/payments/cards/<card_ref>", "payments.delete_card",
          "Удалить сохранённую карту (автоплатежи по ней отключаются)", status=204, auth=True,
          tag=T, errors=(401, 404)),
    Route("GET", "/payments/autopay", "payments.autopays", "Подключённые автоплатежи",
          auth=True, tag=T, errors=(401,), response=a.AutoPayment(many=True)),
    Route("PUT", ACCOUNT + "/autopay", "payments.set_autopay",
          "Подключить автоплатёж счёта сохранённой картой", s.AutoPay, auth=True, tag=T,
          errors=(400, 401, 403, 404), response=a.AutoPayment),
    Route("DELETE", ACCOUNT + "/autopay", "payments.cancel_autopay", "Отключить автоплатёж",
          status=204, auth=True, tag=T, errors=(401, 403, 404, 409)),
    Route("GET", "/payments/sandbox/<provider_ref>", "payments.sandbox_payment",
          "Тестовая платёжная форма (make run): платёж по ссылке формы или QR-коду СБП "
          "(тот же ответ, что GET /payments/{payment_id})", auth=True, tag=T,
          errors=(401, 404), response=a.Payment),
    Route("POST", "/payments/sandbox/<provider_ref>", "payments.sandbox_card",
          "Тестовая платёжная форма (make run): данные карты", s.SandboxCard, auth=True,
          tag=T, errors=(400, 401, 404, 409, 422), response=a.Payment),
    Route("POST", "/payments/sandbox/<provider_ref>/3ds", "payments.sandbox_3ds",
          "Тестовая платёжная форма: код 3-D Secure", s.SandboxCode, auth=True, tag=T,
          errors=(400, 401, 404, 409), response=a.Payment),
    Route("POST", "/payments/sandbox/<provider_ref>/sbp", "payments.sandbox_sbp",
          "Тестовое «приложение банка» СБП (make run): подтвердить или отклонить оплату",
          s.SandboxSbp, auth=True, tag=T, errors=(400, 401, 404, 409), response=a.Payment),
    Route("POST", "/payments/webhooks/<provider>", "payments.webhook",
          "Уведомление платёжного провайдера (подпись проверяется; уведомление ЮKassa "
          "сверяется с её API)", raw=True, tag=T,
          errors=(400, 401, 404), response=a.WebhookAck),
    Route("GET", "/payments/<payment_id>", "payments.payment", "Платёж и его состояние",
          auth=True, tag=T, errors=(401, 404), response=a.Payment),
    Route("POST", "/payments/<payment_id>/refunds", "payments.refund",
          "Возврат платежа на карту (оператор)", s.Refund, auth=True,
          roles=("operator", "admin"), tag=T, errors=(400, 401, 403, 404, 409, 422),
          idempotent=True, response=a.Payment),
)
