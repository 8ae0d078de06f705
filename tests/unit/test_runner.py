"""Starting a service: refused in production with test-only settings, clear without a broker."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_service(tmp_path, **env):
    return subprocess.run(
        [sys.executable, "-m", "shared.runner", "services.auth.service:AuthService"],
        env={"PATH": os.environ.get("PATH", ""), "VAR_DIR": str(tmp_path), **env},
        cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_production_refuses_the_known_captcha_answer(tmp_path):
    done = run_service(tmp_path, NESK_ENV="production", CAPTCHA_TEST_ANSWER="AAAAA",
                       SECRET_KEY="s3cret", JWT_PRIVATE_KEY_FILE=str(tmp_path / "k.pem"))
    assert done.returncode == 2
    assert "CAPTCHA_TEST_ANSWER must not be set" in done.stderr


def test_unreachable_broker_is_one_clear_message(tmp_path):
    done = run_service(tmp_path, AMQP_URI="amqp://guest:guest@127.0.0.1:1/")
    assert done.returncode == 1
    assert "RabbitMQ is not reachable" in done.stderr and "rabbitmq-server -detached" in done.stderr
