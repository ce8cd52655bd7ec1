"""`make run`'s script (scripts/serve.py): the parts that can be run on their own."""

import importlib.util
import os
import socket
import subprocess
import sys

import pytest
import requests

from tests.helpers import ROOT

spec = importlib.util.spec_from_file_location("serve", ROOT / "scripts" / "serve.py")
serve = importlib.util.module_from_spec(spec)
spec.loader.exec_module(serve)


def test_the_demo_emulator_starts_with_a_generated_key_that_begins_with_a_dash(monkeypatch):
    # token_urlsafe draws from A-Z a-z 0-9 _ -: one key in 64 begins with a dash, which the
    # emulator's command line would read as an option, and `make run` would stop.
    monkeypatch.setattr(serve.secrets, "token_urlsafe", lambda size: "-dash-first-key")
    monkeypatch.setenv("EMULATOR_PORT", "0")
    process, url, key = serve.start_emulator({**serve.os.environ})
    try:
        answer = requests.get(
            f"{url}/v1/convai/conversations", headers={"xi-api-key": key}, timeout=5
        )
        assert (key, answer.status_code) == ("-dash-first-key", 200)
    finally:
        process.terminate()
        process.wait()


@pytest.fixture
def taken_port():
    """A port something listens on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_serve(**env):
    """`make run`'s script as make runs it, with these settings."""
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "serve.py")],
        cwd=ROOT,
        env={**os.environ, "XUNA_API_KEY": "", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_taken_dashboard_port_stops_make_run_at_once_naming_port(taken_port):
    result = run_serve(PORT=str(taken_port), EMULATOR_PORT=str(free_port()))
    assert result.returncode != 0
    assert f"Port {taken_port} on 127.0.0.1 is taken" in result.stderr
    assert f"PORT={taken_port + 1} make run" in result.stderr
    # Stopped before anything started: no emulator was announced.
    assert "Demo workspace" not in result.stdout


def test_a_taken_emulator_port_stops_make_run_naming_emulator_port(taken_port):
    result = run_serve(PORT=str(free_port()), EMULATOR_PORT=str(taken_port))
    assert result.returncode != 0
    assert f"Set EMULATOR_PORT to a free port, e.g. `EMULATOR_PORT={taken_port + 1}" in (
        result.stderr
    )


def test_a_port_that_is_not_a_number_is_named_in_the_error():
    result = run_serve(PORT="eighty")
    assert result.returncode != 0
    assert "PORT must be a port number from 0 to 65535 (got 'eighty')" in result.stderr


def test_the_last_lines_say_where_to_go_how_to_log_in_and_which_settings_move_the_ports():
    admin = "Created the administrator. Log in as admin / s3cret\nThis password is shown once.\n"
    lines = serve.ready("127.0.0.1", 8123, admin, demo=True).splitlines()
    assert lines[2] == "Conversation Review is ready: http://127.0.0.1:8123"
    assert lines[3] == "Created the administrator. Log in as admin / s3cret"
    assert "PORT moves the dashboard and EMULATOR_PORT the emulator" in lines[-2]
    assert lines[1] == lines[-1] == "=" * max(len(line) for line in lines[2:-1])
