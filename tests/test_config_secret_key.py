"""Development's SECRET_KEY is generated once into the instance folder and reused, so
sessions survive a restart; the file is readable by its owner only.

portal.config reads INSTANCE_PATH from the environment when it is first imported, so each
start of the app runs in a fresh interpreter pointed at a temporary instance folder (the
real instance/ is never touched)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

_START_DEVELOPMENT = """
import json
from portal import create_app
from portal.config import INSTANCE_PATH
app = create_app("development")
print(json.dumps({"secret_key": app.config["SECRET_KEY"],
                  "instance_path": str(INSTANCE_PATH)}))
"""


def _start_development_app(instance: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if key not in {"SECRET_KEY", "DATA_ENCRYPTION_KEYS", "PORTAL_ENV",
                          "STORAGE_LOCAL_PATH"}}
    env.update({"INSTANCE_PATH": str(instance),
                "DATABASE_URL": f"sqlite:///{instance / 'portal.db'}"})
    result = subprocess.run([sys.executable, "-c", _START_DEVELOPMENT], env=env,
                            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_development_key_is_generated_once_and_reused(tmp_path):
    instance = tmp_path / "instance"
    key_file = instance / "secret_key"
    assert not key_file.exists()

    first = _start_development_app(instance)
    assert first["instance_path"] == str(instance)
    assert key_file.exists()
    written = key_file.read_text()
    second = _start_development_app(instance)

    assert first["secret_key"] == second["secret_key"] == written.strip()
    assert key_file.read_text() == written  # reused, not rewritten
    assert len(first["secret_key"]) == 64  # secrets.token_hex(32)
    int(first["secret_key"], 16)


def test_development_key_file_is_owner_only(tmp_path):
    instance = tmp_path / "instance"
    _start_development_app(instance)

    mode = stat.S_IMODE((instance / "secret_key").stat().st_mode)

    assert mode == 0o600, oct(mode)


def test_another_instance_folder_gets_its_own_key(tmp_path):
    one = _start_development_app(tmp_path / "one")
    two = _start_development_app(tmp_path / "two")

    assert one["secret_key"] != two["secret_key"]
