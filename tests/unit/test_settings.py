"""Settings from the environment: defaults, casts, production guards."""
import pytest

from shared import settings
from shared.settings import ConfigurationError, load


def production(**env):
    """A production environment that starts (tests/unit/test_production_refusals.py)."""
    return {"NESK_ENV": "production", "SECRET_KEY": "k" * 40,
            "JWT_PRIVATE_KEY_FILE": "/etc/nesk/jwt.pem", "SMS_BACKEND": "twilio",
            "EMAIL_BACKEND": "smtp", "PAYMENT_PROVIDER": "stripe",
            **{f"{s.upper()}_DATABASE_URL": f"postgresql+psycopg2://{s}@db/{s}"
               for s in settings.SERVICES}, **env}


def test_defaults(tmp_path):
    config = load({"VAR_DIR": str(tmp_path)})
    assert config["NESK_ENV"] == "development"
    assert config["PASSWORD_MIN_LENGTH"] == 6
    assert config["SMS_CODE_ATTEMPTS"] == 5
    assert config["MIGRATE_ON_START"] is True
    assert config["SMTP_STARTTLS"] is False


def test_every_service_gets_an_sqlite_file_under_var_dir(tmp_path):
    config = load({"VAR_DIR": str(tmp_path)})
    for service in settings.SERVICES:
        assert settings.database_url(config, service) == f"sqlite:///{tmp_path / service}.db"


def test_a_database_url_from_the_environment_wins(tmp_path):
    url = "postgresql+psycopg2://nesk@db/payments"
    config = load({"VAR_DIR": str(tmp_path), "PAYMENTS_DATABASE_URL": url})
    assert config["PAYMENTS_DATABASE_URL"] == url
    assert config["AUTH_DATABASE_URL"] == f"sqlite:///{tmp_path / 'auth.db'}"


def test_ints_and_floats_are_cast():
    config = load({"PASSWORD_MIN_LENGTH": "8", "RPC_TIMEOUT": "2.5", "SMTP_PORT": "2525"})
    assert config["PASSWORD_MIN_LENGTH"] == 8
    assert config["RPC_TIMEOUT"] == 2.5 and isinstance(config["RPC_TIMEOUT"], float)
    assert config["SMTP_PORT"] == 2525


@pytest.mark.parametrize("raw, value", [("true", True), ("1", True), ("YES", True), (" on ", True),
                                        ("false", False), ("0", False), ("no", False),
                                        ("", False)])
def test_bools_are_cast(raw, value):
    assert load({"SMTP_STARTTLS": raw})["SMTP_STARTTLS"] is value


def test_overrides_win_over_the_environment():
    assert load({"PASSWORD_MIN_LENGTH": "8"}, PASSWORD_MIN_LENGTH=10)["PASSWORD_MIN_LENGTH"] == 10


def test_every_setting_has_help_text():
    assert all(s.help for s in settings.SETTINGS)
    assert len({s.name for s in settings.SETTINGS}) == len(settings.SETTINGS)


def test_production_with_real_secrets_loads():
    assert load(production())["NESK_ENV"] == "production"


def test_production_refuses_a_captcha_test_answer():
    with pytest.raises(ConfigurationError, match="CAPTCHA_TEST_ANSWER"):
        load(production(CAPTCHA_TEST_ANSWER="TEST7"))


def test_test_mode_allows_a_captcha_test_answer():
    assert load({"NESK_ENV": "test", "CAPTCHA_TEST_ANSWER": "TEST7"})["CAPTCHA_TEST_ANSWER"] == "TEST7"


def test_production_refuses_the_default_secret_key():
    env = production()
    del env["SECRET_KEY"]
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        load(env)


def test_production_refuses_an_empty_secret_key():
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        load(production(SECRET_KEY=""))


def test_production_refuses_missing_jwt_key_files():
    env = production()
    del env["JWT_PRIVATE_KEY_FILE"]
    with pytest.raises(ConfigurationError, match="JWT"):
        load(env)


def test_production_checks_overrides_too():
    with pytest.raises(ConfigurationError):
        load(production(), CAPTCHA_TEST_ANSWER="TEST7")
