"""SMS and e-mail delivery through each backend, against the local fakes."""
import eventlet

eventlet.monkey_patch()  # as tests/conftest.py does; the fakes must work under it

import json  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from shared.notify import DeliveryFailed, FileOutbox, Notifier, NotifierProvider  # noqa: E402

pytest_plugins = ["tests.fakes.fixtures"]

PHONE = "+79181234567"


def config(tmp_path: Path, **overrides: object) -> dict:
    base = {"VAR_DIR": str(tmp_path), "SMS_BACKEND": "file", "EMAIL_BACKEND": "file"}
    return {**base, **overrides}


def twilio_config(tmp_path: Path, fake, **overrides: object) -> dict:
    return config(tmp_path, **{
        "SMS_BACKEND": "twilio", "TWILIO_ACCOUNT_SID": fake.account_sid,
        "TWILIO_AUTH_TOKEN": fake.auth_token, "TWILIO_FROM": "+15005550006",
        "TWILIO_API_BASE": fake.url, **overrides})


def smtp_config(tmp_path: Path, fake, **overrides: object) -> dict:
    return config(tmp_path, **{
        "EMAIL_BACKEND": "smtp", "SMTP_HOST": fake.host, "SMTP_PORT": fake.port,
        "SMTP_USER": "", "SMTP_PASSWORD": "", "SMTP_STARTTLS": False,
        "SMTP_FROM": "ЛК НЭСК <no-reply@nesk.local>", **overrides})


def test_file_backend_writes_one_readable_json_file_per_message(tmp_path):
    notifier = Notifier.from_config(config(tmp_path))

    sms = notifier.send_sms(PHONE, "Код подтверждения: 123456")
    mail = notifier.send_email("ivanov@example.ru", "Подтвердите адрес", "Перейдите по ссылке")

    files = sorted((tmp_path / "outbox").glob("*.json"))
    assert len(files) == 2
    assert files[0].name.endswith(f"-sms-{sms.id}.json")
    raw = files[0].read_text(encoding="utf-8")
    assert "Код подтверждения: 123456" in raw  # not \u-escaped
    assert json.loads(raw)["to"] == PHONE
    outbox = FileOutbox(tmp_path / "outbox")
    assert [m["id"] for m in outbox.messages()] == [sms.id, mail.id]
    assert outbox.messages(channel="email") == [
        {"channel": "email", "to": "ivanov@example.ru", "body": "Перейдите по ссылке",
         "subject": "Подтвердите адрес", "id": mail.id, "created_at": mail.created_at}]
    assert outbox.messages(to=PHONE)[0]["body"] == "Код подтверждения: 123456"


def test_twilio_backend_delivers_to_the_api(tmp_path, fake_twilio):
    notifier = Notifier.from_config(twilio_config(tmp_path, fake_twilio))

    notifier.send_sms(PHONE, "Код: 654321")

    assert [(m["to"], m["from"], m["body"]) for m in fake_twilio.messages] == [
        (PHONE, "+15005550006", "Код: 654321")]
    assert not (tmp_path / "outbox").exists()


def test_twilio_messaging_service_sid_is_sent_as_such(tmp_path, fake_twilio):
    service = "MG" + "0" * 32
    notifier = Notifier.from_config(twilio_config(tmp_path, fake_twilio, TWILIO_FROM=service))

    notifier.send_sms(PHONE, "Код: 1")

    assert fake_twilio.messages[0]["messaging_service_sid"] == service
    assert fake_twilio.messages[0]["from"] is None


def test_twilio_bad_credentials_fail_delivery(tmp_path, fake_twilio):
    notifier = Notifier.from_config(
        twilio_config(tmp_path, fake_twilio, TWILIO_AUTH_TOKEN="wrong"))

    with pytest.raises(DeliveryFailed, match="20003"):
        notifier.send_sms(PHONE, "Код: 1")
    assert fake_twilio.messages == []


def test_twilio_invalid_number_fails_delivery(tmp_path, fake_twilio):
    notifier = Notifier.from_config(twilio_config(tmp_path, fake_twilio))

    with pytest.raises(DeliveryFailed, match="21211"):
        notifier.send_sms("8 918 123", "Код: 1")
    assert fake_twilio.messages == []


def test_twilio_unreachable_fails_delivery(tmp_path, fake_twilio):
    notifier = Notifier.from_config(
        twilio_config(tmp_path, fake_twilio, TWILIO_API_BASE="http://127.0.0.1:9"))

    with pytest.raises(DeliveryFailed):
        notifier.send_sms(PHONE, "Код: 1")


def test_smtp_backend_delivers_utf8_subject_and_body(tmp_path, fake_smtp):
    notifier = Notifier.from_config(smtp_config(tmp_path, fake_smtp))

    notifier.send_email("ivanov@example.ru", "Сброс пароля — ЛК НЭСК",
                        "Здравствуйте!\nСсылка: http://127.0.0.1:8000/reset?t=abc")

    [received] = fake_smtp.messages
    assert received["rcpt_tos"] == ["ivanov@example.ru"]
    assert received["to"] == "ivanov@example.ru"
    assert received["from"] == "ЛК НЭСК <no-reply@nesk.local>"
    assert received["subject"] == "Сброс пароля — ЛК НЭСК"
    assert received["body"].strip() == "Здравствуйте!\nСсылка: http://127.0.0.1:8000/reset?t=abc"
    assert received["message_id"].endswith("@nesk.local>")


def test_smtp_unreachable_fails_delivery(tmp_path, fake_smtp):
    notifier = Notifier.from_config(smtp_config(tmp_path, fake_smtp, SMTP_PORT=9))

    with pytest.raises(DeliveryFailed):
        notifier.send_email("ivanov@example.ru", "Тема", "Текст")


@pytest.mark.parametrize("setting, value", [("SMS_BACKEND", "pigeon"), ("EMAIL_BACKEND", "fax")])
def test_unknown_backend_is_refused(tmp_path, setting, value):
    with pytest.raises(ValueError, match=setting):
        Notifier.from_config(config(tmp_path, **{setting: value}))


def test_logs_do_not_contain_the_body_or_full_recipient(tmp_path, caplog):
    caplog.set_level("DEBUG", logger="shared.notify")
    notifier = Notifier.from_config(config(tmp_path))

    notifier.send_sms(PHONE, "Код: 777999")

    logged = caplog.text
    assert "sms" in logged
    assert "777999" not in logged and PHONE not in logged


def test_provider_gives_workers_the_configured_notifier(tmp_path):
    class Container:  # all the provider reads of a nameko ServiceContainer
        pass

    container = Container()
    container.config = config(tmp_path)
    provider = NotifierProvider().bind(container, "notifier")
    provider.setup()

    notifier = provider.get_dependency(worker_ctx=None)
    notifier.send_sms(PHONE, "Код: 1")

    assert provider.get_dependency(worker_ctx=None) is notifier
    assert FileOutbox(tmp_path / "outbox").messages(channel="sms", to=PHONE)
