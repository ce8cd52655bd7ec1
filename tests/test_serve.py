"""`make run`'s script (scripts/serve.py): the parts that can be run on their own."""

import importlib.util

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
