"""The API as a table: each route is an HTTP shape in front of one service RPC method.

The gateway holds no business rule: a route says which JSON it takes, whether the caller
must be signed in (and with which role), which RPC it calls and which status means success.
The OpenAPI document is generated from this same table.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from marshmallow import Schema

from gateway import schemas as s


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    rpc: str  # "service.method"
    summary: str
    schema: type[Schema] | None = None
    status: int = 200
    auth: bool = False
    roles: tuple[str, ...] = ()
    source: str = "json"  # or "query"
    tag: str = "auth"
    errors: tuple[int, ...] = field(default=(400, 422))

    @property
    def service(self) -> str:
        return self.rpc.split(".", 1)[0]

    @property
    def endpoint(self) -> str:
        return f"{self.method.lower()}_{self.path.strip('/').replace('/', '_').replace('-', '_')}"


ROUTES: tuple[Route, ...] = (
    Route("GET", "/auth/consent", "auth.consent", "Текущая версия согласия на обработку персональных данных",
          errors=()),
    Route("POST", "/auth/captcha", "auth.create_captcha", "Новая капча (картинка PNG, base64)",
          status=201, errors=()),
    Route("POST", "/auth/register/phone", "auth.register_phone",
          "Регистрация по телефону, шаг 1: телефон и капча; отправляет код по SMS",
          s.RegisterPhone, 202, errors=(400, 422, 429)),
    Route("POST", "/auth/sms/resend", "auth.resend_code", "Отправить код из SMS повторно",
          s.Resend, 202, errors=(400, 404, 410, 422, 429)),
    Route("POST", "/auth/register/phone/verify", "auth.verify_registration_code",
          "Регистрация по телефону, шаг 2: код из SMS", s.VerificationCode,
          errors=(400, 404, 410, 422)),
    Route("POST", "/auth/register/phone/complete", "auth.complete_phone_registration",
          "Регистрация по телефону, шаг 3: пароль, подтверждение, согласие; выдаёт токены",
          s.CompletePhoneRegistration, 201, errors=(400, 404, 409, 410, 422)),
    Route("POST", "/auth/register/email", "auth.register_email",
          "Регистрация по e-mail: отправляет ссылку для подтверждения", s.RegisterEmail, 202,
          errors=(400, 422)),
    Route("GET", "/auth/register/email/confirm", "auth.confirm_email",
          "Переход по ссылке из письма: подтверждает адрес и выполняет вход", s.Token,
          source="query", errors=(400, 409, 410, 422)),
    Route("POST", "/auth/register/email/confirm", "auth.confirm_email",
          "То же для фронтенда: токен из ссылки в теле запроса", s.Token,
          errors=(400, 409, 410, 422)),
    Route("POST", "/auth/login", "auth.login", "Вход по телефону или e-mail и паролю", s.Login,
          errors=(400, 401, 422, 423, 429)),
    Route("POST", "/auth/token/refresh", "auth.refresh",
          "Новая пара токенов по refresh-токену (старый больше не действует)", s.Refresh,
          errors=(400, 401, 422)),
    Route("POST", "/auth/logout", "auth.logout", "Выход: сессия завершается", status=204,
          auth=True, errors=(401,)),
    Route("POST", "/auth/password/forgot/phone", "auth.forgot_password_phone",
          "«Забыли пароль?» по SMS, шаг 1", s.ForgotPhone, 202, errors=(400, 422, 429)),
    Route("POST", "/auth/password/reset/phone", "auth.reset_password_phone",
          "«Забыли пароль?» по SMS, шаг 2: код и новый пароль; все сессии завершаются",
          s.ResetPhone, errors=(400, 404, 410, 422)),
    Route("POST", "/auth/password/forgot/email", "auth.forgot_password_email",
          "«Забыли пароль?» по e-mail: отправляет ссылку", s.ForgotEmail, 202,
          errors=(400, 422)),
    Route("POST", "/auth/password/reset/email", "auth.reset_password_email",
          "«Забыли пароль?» по e-mail: токен из ссылки и новый пароль", s.ResetEmail,
          errors=(400, 410, 422)),
    Route("GET", "/auth/me", "auth.me", "Данные входа текущего пользователя", auth=True,
          errors=(401,)),
    Route("POST", "/auth/password/change", "auth.change_password",
          "Параметры авторизации: смена пароля", s.ChangePassword, auth=True,
          errors=(400, 401, 422)),
    Route("POST", "/auth/phone/change", "auth.change_phone",
          "Параметры авторизации: новый номер, код по SMS на него", s.ChangePhone, 202,
          auth=True, errors=(400, 401, 422, 429)),
    Route("POST", "/auth/phone/change/confirm", "auth.confirm_phone_change",
          "Параметры авторизации: подтвердить новый номер кодом", s.VerificationCode,
          auth=True, errors=(400, 401, 404, 409, 410, 422)),
    Route("GET", "/auth/me/export", "auth.export_my_data",
          "Выгрузка персональных данных (152-ФЗ)", auth=True, errors=(401,)),
    Route("POST", "/auth/me/delete", "auth.delete_my_account",
          "Отзыв согласия и удаление учётной записи", s.Password, auth=True,
          errors=(400, 401, 422)),
    Route("POST", "/admin/users", "auth.create_user", "Создать пользователя (только admin)",
          s.CreateUser, 201, auth=True, roles=("admin",), tag="admin",
          errors=(400, 401, 403, 409, 422)),
)

SERVICES: tuple[str, ...] = tuple(sorted({r.service for r in ROUTES}))
