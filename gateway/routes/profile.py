"""Routes of РАЗДЕЛ «ПРОФИЛЬ» (served by the accounts service)."""
from gateway.routes import Route
from gateway.schemas import accounts as s
from gateway.schemas.answers import accounts as a

ROUTES: tuple[Route, ...] = (
    Route("GET", "/profile", "accounts.get_profile",
          "Профиль: основная и расширенная анкеты, предпочтения, контакты", auth=True,
          tag="profile", errors=(401,), response=a.Profile),
    Route("PUT", "/profile/contacts", "accounts.update_contacts",
          "Контактная информация (новый e-mail подтверждается ссылкой)", s.Contacts, auth=True,
          tag="profile", errors=(400, 401, 422), response=a.Profile),
    Route("GET", "/profile/email/confirm", "accounts.confirm_profile_email",
          "Ссылка из письма: подтверждает новый e-mail профиля", s.EmailToken, source="query",
          tag="profile", errors=(400, 410, 422), response=a.EmailConfirmed),
    Route("POST", "/profile/email/confirm", "accounts.confirm_profile_email",
          "То же для фронтенда: токен из ссылки в теле запроса (страница не подтверждает "
          "адрес при открытии, только по кнопке)", s.EmailToken, tag="profile",
          errors=(400, 410, 422), response=a.EmailConfirmed),
    Route("GET", "/profile/photo", "accounts.get_photo", "Фото профиля (JPEG, base64)",
          auth=True, tag="profile", errors=(401, 404), response=a.ProfilePhoto),
    Route("PUT", "/profile/photo", "accounts.set_photo",
          "«Изменить фото»: JPEG или PNG до 5 МБ", s.Photo, auth=True, upload=True,
          tag="profile", errors=(400, 401, 413, 422), response=a.ProfilePhoto),
    Route("DELETE", "/profile/photo", "accounts.delete_photo", "Удалить фото", status=204,
          auth=True, tag="profile", errors=(401,)),
    Route("PUT", "/profile/<tab>", "accounts.update_profile",
          "Сохранить вкладку анкеты: basic, extended или preferences", auth=True,
          body_arg="data", body_one_of=s.PROFILE_TABS, tag="profile", errors=(400, 401, 404, 422),
          response=a.Profile),
)
