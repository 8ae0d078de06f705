"""NESK_ENV=production refuses what is only for development and tests, and says which
variable to change: placeholder or short secrets, a missing or SQLite database, the file
outbox, the sandbox payment provider, a captcha test answer."""
from __future__ import annotations

import pytest

from shared import settings
from shared.settings import ConfigurationError, load
from tests.unit.test_settings import production


def test_a_complete_production_environment_loads():
    config = load(production())
    assert config["AUTH_DATABASE_URL"].startswith("postgresql")


@pytest.mark.parametrize("env, variable", [
    ({"SECRET_KEY": "dev-secret-change-me"}, "SECRET_KEY"),
    ({"SECRET_KEY": "short-but-random-3f9a"}, "SECRET_KEY"),
    ({"SECRET_KEY": "CHANGE-ME-CHANGE-ME-CHANGE-ME-CHANGE-ME"}, "SECRET_KEY"),
    ({"SECRET_KEY": "replace-with-32-or-more-random-characters"}, "SECRET_KEY"),
    ({"STRIPE_WEBHOOK_SECRET": "CHANGE-ME"}, "STRIPE_WEBHOOK_SECRET"),
    ({"STRIPE_API_KEY": "sk_live_replace"}, "STRIPE_API_KEY"),
    ({"SMTP_PASSWORD": "changeme"}, "SMTP_PASSWORD"),
    ({"TWILIO_AUTH_TOKEN": "xxxxxxxx"}, "TWILIO_AUTH_TOKEN"),
    ({"S3_SECRET_KEY": "placeholder"}, "S3_SECRET_KEY"),
    ({"SMS_BACKEND": "file"}, "SMS_BACKEND"),
    ({"EMAIL_BACKEND": "file"}, "EMAIL_BACKEND"),
    ({"PAYMENT_PROVIDER": "sandbox"}, "PAYMENT_PROVIDER"),
    ({"CAPTCHA_TEST_ANSWER": "TEST7"}, "CAPTCHA_TEST_ANSWER"),
    ({"READINGS_DATABASE_URL": "sqlite:////var/lib/nesk/readings.db"}, "READINGS_DATABASE_URL"),
])
def test_production_refuses_naming_the_variable(env, variable):
    with pytest.raises(ConfigurationError, match=variable):
        load(production(**env))


def test_the_same_values_are_fine_outside_production():
    config = load(production(NESK_ENV="development", SECRET_KEY="dev-secret-change-me",
                             SMS_BACKEND="file", PAYMENT_PROVIDER="sandbox",
                             CAPTCHA_TEST_ANSWER="TEST7"))
    assert config["PAYMENT_PROVIDER"] == "sandbox"


def test_a_missing_database_url_is_refused_where_it_is_needed_not_replaced_by_sqlite():
    env = production()
    del env["DOCUMENTS_DATABASE_URL"]
    config = load(env)  # the gateway and the other services have no use for it
    assert config["DOCUMENTS_DATABASE_URL"] == ""
    with pytest.raises(ConfigurationError, match="DOCUMENTS_DATABASE_URL"):
        settings.database_url(config, "documents")
    assert settings.database_url(config, "auth") == env["AUTH_DATABASE_URL"]
