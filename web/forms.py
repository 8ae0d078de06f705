"""Form helpers shared by the pages: errors by field from an API error, the values to show
again, and the few shape conversions a form needs before the API sees it."""
from __future__ import annotations

import re
import uuid
from typing import Any, Mapping

from flask import g, request

from web.api import ApiError


class FormErrors(dict):
    """Russian messages by form field name; ``summary`` for the list at the top of the page
    (each item links to its field), ``general`` for a message that names no field."""

    general: str | None = None

    @property
    def summary(self) -> list[tuple[str, str]]:
        items = [(name, text) for name, text in self.items()]
        if self.general and not items:
            items.append(("", self.general))
        return items


KEY_FIELD = "idempotency_key"  # the hidden field of a creating form (ui.idempotency())
KEY_HEADER = "Idempotency-Key"
_VALID_KEY = re.compile(r"[\x21-\x7e]{1,255}")
KEY_USED = ("Эта форма уже была отправлена с другими данными. Проверьте, что получилось; "
            "чтобы отправить эти данные, нажмите кнопку ещё раз.")
KEY_BUSY = "Эта форма уже отправлена и ещё обрабатывается. Подождите немного и проверьте результат."


def form_key() -> str:
    """The Idempotency-Key of the creating form on this page: the one it was posted with, so
    a form shown again after an error or a 503 sends the same key and cannot do the thing
    twice; a new one (uuid4) for a form shown afresh or after :func:`renew_form_key`."""
    if "form_key" not in g:
        posted = request.form.get(KEY_FIELD, "") if request.method == "POST" else ""
        g.form_key = posted if _VALID_KEY.fullmatch(posted) else str(uuid.uuid4())
    return g.form_key


def renew_form_key() -> None:
    """The posted key did its work (or was used for other data): the page shows a new one."""
    g.form_key = str(uuid.uuid4())


def shown(errors: FormErrors | None) -> FormErrors:
    """The errors a page shows: none given, none; a general message alone still counts."""
    return FormErrors() if errors is None else errors


def errors_from(exc: ApiError, aliases: Mapping[str, str] | None = None,
                known: set[str] | None = None) -> FormErrors:
    """The API's error as form errors. ``aliases`` maps an API field to the form field that
    holds it (``captcha_answer`` → ``captcha``); a field the form does not show (not in
    ``known`` when given) turns into the general message, so nothing is silently lost."""
    aliases = aliases or {}
    errors = FormErrors()
    if KEY_HEADER in exc.fields:  # the form's key: in use, or used for other data
        errors.general = KEY_BUSY if exc.status == 409 else KEY_USED
        if exc.status != 409:
            renew_form_key()
        return errors
    for api_field, text in exc.field_messages().items():
        name = aliases.get(api_field, api_field)
        # "items.0.amount" from a nested schema belongs to the form field "amount_0" etc.:
        # the page gives an alias; otherwise keep the top name.
        if known is not None and name not in known:
            errors.general = exc.message
            continue
        errors[name] = text
    if not errors:
        errors.general = exc.message
        if exc.retry_after:
            errors.general += f" (повторить можно через {exc.retry_after} с)"
    return errors


def values(*names: str) -> dict[str, str]:
    """The submitted values of a form, stripped, to show again after an error."""
    return {name: (request.form.get(name) or "").strip() for name in names}


def checked(name: str) -> bool:
    return request.form.get(name) in ("on", "1", "true", "yes")


def cleaned(data: Mapping[str, Any]) -> dict[str, Any]:
    """Empty form fields left out, so the API says «обязательное поле» by the field itself."""
    return {key: value for key, value in data.items() if value not in ("", None)}
