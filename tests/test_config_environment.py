"""Settings the README documents reach the application from the environment. The
configuration classes read the environment when portal.config is first imported, so each
case runs in a fresh interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

PROJECT_ROOT = Path(__file__).resolve().parent.parent

_PRINT_CONFIG = """
import json, sys
from portal import create_app
app = create_app("production")
print(json.dumps({name: str(app.config.get(name)) for name in sys.argv[1:]}))
"""


def _config_under(environment: dict[str, str], *names: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("MIN_", "EVALUATORS_", "ENQUIRY_", "STORAGE_", "S3_"))}
    env.update({"SECRET_KEY": "x" * 40, "PORTAL_ENV": "production",
                "DATA_ENCRYPTION_KEYS": Fernet.generate_key().decode(), **environment})
    result = subprocess.run([sys.executable, "-c", _PRINT_CONFIG, *names], env=env,
                            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_documented_settings_are_read_from_the_environment(tmp_path):
    database = f"sqlite:///{tmp_path / 'portal.db'}"
    config = _config_under(
        {"MIN_TENDER_DAYS": "14", "EVALUATORS_MIN": "3", "ENQUIRY_DAILY_LIMIT": "7",
         "DATABASE_URL": database, "STORAGE_BACKEND": "s3", "S3_BUCKET": "portal-docs",
         "S3_ENDPOINT_URL": "http://127.0.0.1:9", "MAIL_SERVER": "mail.example",
         "MAIL_PORT": "2525"},
        "MIN_TENDER_DAYS", "EVALUATORS_MIN", "ENQUIRY_DAILY_LIMIT", "SQLALCHEMY_DATABASE_URI",
        "STORAGE_BACKEND", "S3_BUCKET", "S3_ENDPOINT_URL", "MAIL_SERVER", "MAIL_PORT")
    assert config == {
        "MIN_TENDER_DAYS": "14", "EVALUATORS_MIN": "3", "ENQUIRY_DAILY_LIMIT": "7",
        "SQLALCHEMY_DATABASE_URI": database, "STORAGE_BACKEND": "s3",
        "S3_BUCKET": "portal-docs", "S3_ENDPOINT_URL": "http://127.0.0.1:9",
        "MAIL_SERVER": "mail.example", "MAIL_PORT": "2525",
    }


def test_the_defaults_when_the_environment_is_silent(tmp_path):
    config = _config_under({"DATABASE_URL": f"sqlite:///{tmp_path / 'portal.db'}"},
                           "MIN_TENDER_DAYS", "EVALUATORS_MIN", "ENQUIRY_DAILY_LIMIT",
                           "STORAGE_BACKEND")
    assert config == {"MIN_TENDER_DAYS": "10", "EVALUATORS_MIN": "2",
                      "ENQUIRY_DAILY_LIMIT": "20", "STORAGE_BACKEND": "local"}
