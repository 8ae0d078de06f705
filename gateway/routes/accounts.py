"""Routes of the accounts service: «Добавить лицевой счёт», the account pages, trust."""
from gateway.routes import Route
from gateway.schemas import accounts as s
from gateway.schemas.answers import accounts as a

ACCOUNT = "/accounts/<int:account_id>"

ROUTES: tuple[Route, ...] = (
    Route("GET", "/accounts/branches", "accounts.branches",
          "Поставщик и его филиалы (для выбора «Филиал»)", tag="accounts", errors=(),
          response=a.Branches),
    Route("GET", "/accounts", "accounts.my_accounts",
          "Мои лицевые счета (пустой список — «У вас нет лицевых счетов»)", auth=True,
          tag="accounts", errors=(401,),
          response=a.Account(many=True), example=[a.ACCOUNT_EXAMPLE]),
    Route("POST", "/accounts", "accounts.link_account",
          "Добавить лицевой счёт: номер, филиал и последние цифры номера счётчика", s.LinkAccount,
          201, auth=True, tag="accounts", errors=(400, 401, 404, 409, 422, 429), idempotent=True,
          response=a.Account),
    Route("GET", ACCOUNT, "accounts.get_account", "Лицевой счёт (владелец видит доверенных лиц)",
          auth=True, tag="accounts", errors=(401, 404, 422), response=a.Account),
    Route("DELETE", ACCOUNT, "accounts.unlink_account", "Убрать лицевой счёт из кабинета",
          status=204, auth=True, tag="accounts", errors=(401, 404, 422)),
    Route("PUT", ACCOUNT + "/paperless", "accounts.set_paperless",
          "Согласие получать счета по e-mail и отказ от бумажных", s.Paperless, auth=True,
          tag="accounts", errors=(400, 401, 403, 404, 422), response=a.Account),
    Route("POST", ACCOUNT + "/trusted", "accounts.grant_access",
          "Дать доверенному лицу доступ (просмотр или полный)", s.Grant, 201, auth=True,
          tag="accounts", errors=(400, 401, 403, 404, 409, 422), idempotent=True,
          response=a.TrustedList),
    Route("DELETE", ACCOUNT + "/trusted/<user_id>", "accounts.revoke_access",
          "Отозвать доступ доверенного лица", status=204, auth=True, tag="accounts",
          errors=(401, 403, 404, 422)),
    Route("POST", "/contract-requests", "accounts.request_contract",
          "«Заключить договор»: заявка от клиента без лицевого счёта", s.ContractRequest, 201,
          auth=True, tag="accounts", errors=(400, 401, 422), idempotent=True,
          response=a.ContractRequested),
)
