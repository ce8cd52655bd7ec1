"""Settings come from the environment; a bad value stops start-up naming the variable."""

import pytest

from tests.helpers import import_settings


def test_the_defaults_start():
    assert import_settings().returncode == 0


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
    result = import_settings(**{name: value})
    assert result.returncode != 0
    assert name in result.stderr


def test_secret_key_is_required_when_debug_is_off():
    result = import_settings(SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
