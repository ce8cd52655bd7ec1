"""Settings come from the environment; a bad value stops start-up naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def start(**env):
    """Import the settings in a fresh process, as start-up does."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("XUNA_", "DJANGO_")) and key not in ("DEBUG", "SECRET_KEY")
    }
    environment.update({"SECRET_KEY": "s" * 50, **env})
    return subprocess.run(
        [sys.executable, "-c", "import dashboard.settings"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_defaults_start():
    assert start().returncode == 0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("XUNA_API_BASE_URL", "ftp://api.example"),
        ("XUNA_API_BASE_URL", "https://user:pw@api.example"),
        ("XUNA_API_TIMEOUT", "soon"),
        ("XUNA_API_TIMEOUT", "0"),
        ("DEBUG", "maybe"),
        ("XUNA_AGENT_NAMES", "agent_x"),
        ("TIME_ZONE", "Mars/Olympus"),
        ("DATABASE_URL", "nosuchdb://x"),
        ("XUNA_API_KEY_HEADER", "bad header"),
        ("XUNA_AUDIO_HOSTS", "https://cdn.example"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(name, value):
    result = start(**{name: value})
    assert result.returncode != 0
    assert name in result.stderr


def test_secret_key_is_required_when_debug_is_off():
    result = start(SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
