"""Domain errors keep their type and details across nameko RPC."""
import json

import pytest
from nameko.exceptions import deserialize, serialize

from shared import errors


def over_rpc(exc):
    """What the caller of an RPC gets: nameko serialises, the broker carries JSON."""
    return deserialize(json.loads(json.dumps(serialize(exc))))


@pytest.mark.parametrize("cls", errors.ALL)
def test_type_message_and_fields_survive_rpc(cls):
    back = over_rpc(cls("Неверный код", {"code": "wrong"}))
    assert type(back) is cls
    assert back.message == "Неверный код" and str(back) == "Неверный код"
    assert back.fields == {"code": "wrong"}
    assert (back.code, back.status) == (cls.code, cls.status)


@pytest.mark.parametrize("cls", [errors.TooManyRequests, errors.Locked])
def test_retry_after_survives_rpc_as_a_number(cls):
    # nameko stringifies non-str args (30 -> "30", None -> "None"); DomainError undoes it.
    back = over_rpc(cls("Подождите", {"password": "locked"}, retry_after=30))
    assert back.retry_after == 30
    assert back.to_dict()["retry_after"] == 30


@pytest.mark.parametrize("cls", errors.ALL)
def test_no_retry_after_stays_absent_after_rpc(cls):
    back = over_rpc(cls("Ошибка", {"x": "y"}))
    assert back.retry_after is None
    assert "retry_after" not in back.to_dict()


def test_codes_and_statuses_are_distinct():
    assert len({cls.code for cls in errors.ALL}) == len(errors.ALL)
    assert {cls.status for cls in errors.ALL} == {400, 422, 401, 403, 404, 409, 410, 423, 429, 503}


def test_every_error_is_a_domain_error_with_a_doc():
    assert all(issubclass(cls, errors.DomainError) and cls.__doc__ for cls in errors.ALL)


def test_to_dict_minimal():
    assert errors.NotFound("Нет такого счёта").to_dict() == {
        "code": "not_found", "message": "Нет такого счёта"}


def test_to_dict_with_fields_and_retry_after():
    error = errors.TooManyRequests("Подождите", {"phone": "resend cooldown"}, retry_after=42)
    assert error.to_dict() == {"code": "too_many_requests", "message": "Подождите",
                               "fields": {"phone": "Повторно отправить можно чуть позже"},
                               "field_codes": {"phone": "resend cooldown"}, "retry_after": 42}
    assert error.status == 429


def test_fields_default_to_an_empty_dict():
    assert errors.Gone("Истёк").fields == {}
