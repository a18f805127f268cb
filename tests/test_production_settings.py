"""The production profile: `check --deploy` is clean, and start-up refuses a missing or short SECRET_KEY."""

import subprocess
import sys
from pathlib import Path

from tests.conftest import production_env

ROOT = Path(__file__).resolve().parent.parent


def manage(*args, tmp_path, **env):
    """Run manage.py as in production; SECRET_KEY=None leaves the key unset."""
    environment = production_env(ALLOWED_HOSTS="studio.example.org", VAR_DIR=str(tmp_path), **env)
    if "SECRET_KEY" in env and env["SECRET_KEY"] is None:
        del environment["SECRET_KEY"]
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = manage("check", "--deploy", "--fail-level", "WARNING", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = manage("check", tmp_path=tmp_path, SECRET_KEY=None)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
    assert not (tmp_path / "secret_key").exists()  # no key quietly generated in production


def test_production_refuses_a_short_secret_key(tmp_path):
    result = manage("check", tmp_path=tmp_path, SECRET_KEY="short-key-of-thirty-two-chars-xx")
    assert result.returncode != 0
    assert "SECRET_KEY is too short" in result.stderr


def test_debug_cannot_be_switched_on_in_production(tmp_path):
    result = manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings; print(settings.DEBUG, settings.SESSION_COOKIE_SECURE)",
        tmp_path=tmp_path,
        DEBUG="1",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]
