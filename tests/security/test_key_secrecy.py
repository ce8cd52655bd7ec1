"""The API key never leaves for anywhere but the platform: not in a page, a header, a log line,
an error, nor a request to another host.

One long session does everything a user and a failing platform can make the dashboard do,
with every logger at DEBUG (urllib3 and django.request included); then every answer's body
and headers, every log record (with its traceback) and everything another host received are
searched for the key.
"""

import logging

import pytest

from conversations import client as platform_client
from conversations import transport
from conversations.models import AuditRecord
from tests.helpers import EMULATOR_KEY
from tests.security.tally import send

pytestmark = pytest.mark.django_db

LOGGERS = ["", "urllib3", "django", "django.request", "django.server", "conversations", "axes"]


class Session:
    """A browser's worth of requests, keeping every answer for the search."""

    def __init__(self, client):
        self.client = client
        self.answers = []

    def request(self, method, path, **kwargs):
        response = send(self.client, method, path, **kwargs)
        # The test client closes the response (a streamed one once it is read); closing it
        # again would send request_finished, which closes the test's PostgreSQL connection.
        body = b"".join(response.streaming_content) if response.streaming else response.content
        self.answers.append((f"{method} {path}", response, body))
        return response

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)


@pytest.fixture
def logs(caplog):
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def leaks(session, logs, *hosts):
    """Every place the key turned up, described."""
    key = EMULATOR_KEY
    found = []
    for what, response, body in session.answers:
        if key.encode() in body:
            found.append(f"body of {what}")
        found += [f"header {h} of {what}" for h, value in response.items() if key in value]
        found += [f"cookie of {what}" for cookie in response.cookies.values() if key in str(cookie)]
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    for record in logs.records:
        if key in formatter.format(record) or key in repr(record.args):
            found.append(f"log record {record.name}: {record.getMessage()[:80]}")
    for host in hosts:
        found += [f"{host.url} received it" for r in host.received if key in repr(r)]
    found += [f"audit record {r.pk}" for r in AuditRecord.objects.all() if key in repr(vars(r))]
    return found


def test_the_key_appears_nowhere_in_a_whole_session_of_pages_faults_and_deletes(
    client, make_user, emulator, settings, logs, trap
):
    settings.XUNA_API_TIMEOUT = 1.0
    make_user("Admin", username="ada")
    session = Session(client)
    session.post("/login/", data={"username": "ada", "password": "a-long-pass-phrase"})
    ids = [i for i in emulator.conversation_ids() if emulator.raw(i).get("audio")]
    agent = emulator.agents[0][0]

    # A working day.
    session.get("/")
    session.get(f"/?agent={agent}")
    first = session.get("/").content.decode()
    cursor = first.split("cursor=")[1].split('"')[0].split("&")[0] if "cursor=" in first else ""
    session.get(f"/?cursor={cursor}", headers={"HX-Request": "true"})
    session.get(f"/conversations/{ids[0]}/")
    session.get(f"/conversations/{ids[0]}/audio")
    session.get(f"/conversations/{ids[0]}/audio", headers={"Range": "bytes=0-999"})
    session.get(f"/conversations/{ids[0]}/audio?download=1")
    session.get(f"/conversations/{ids[1]}/delete", headers={"HX-Request": "true"})
    session.post(f"/conversations/{ids[1]}/delete", data={"reason": "asked", "origin": "list"})
    session.get(f"/agents/{agent}/signed-url")
    session.get(f"/agents/{agent}/token", headers={"HX-Request": "true"})
    session.get("/audit/")
    session.get("/audit/?format=csv")
    session.get(f"/export/?format=csv&agent={agent}")

    # A platform that fails in every way, on every endpoint.
    for kind in ("401", "500", "503", "429", "404", "html", "truncated", "wrong_types", "reset"):
        for endpoint in ("list", "get", "audio", "delete", "signed_url", "token"):
            emulator.set_fault(endpoint, kind, seconds=3)
        session.get("/")
        session.get(f"/conversations/{ids[2]}/")
        session.get(f"/conversations/{ids[2]}/audio")
        session.post(f"/conversations/{ids[3]}/delete", data={"origin": "detail"})
        session.get(f"/agents/{agent}/signed-url", headers={"HX-Request": "true"})
        session.get(f"/agents/{agent}/token")
        emulator.clear_faults()
    for endpoint in ("get", "delete"):
        emulator.set_fault(endpoint, "hang", seconds=3)
    session.get(f"/conversations/{ids[2]}/")
    session.post(f"/conversations/{ids[3]}/delete", data={"origin": "detail"})
    emulator.clear_faults()

    # Redirects to another host, on every endpoint.
    for endpoint in ("list", "get", "audio", "delete", "signed_url", "token"):
        emulator.set_fault(endpoint, "redirect", location=f"{trap.url}/steal")
    session.get("/")
    session.get(f"/conversations/{ids[4]}/")
    session.get(f"/conversations/{ids[4]}/audio")
    session.post(f"/conversations/{ids[4]}/delete", data={})
    session.get(f"/agents/{agent}/signed-url")
    session.get(f"/agents/{agent}/token")
    emulator.clear_faults()

    # A recording on another, plain-http host.
    raw = emulator.raw(ids[5]) | {"conversation_id": "conv_elsewhere", "audio": f"{trap.url}/r.wav"}
    emulator.add_conversation(raw)
    assert session.get("/conversations/conv_elsewhere/audio").status_code == 502

    # A platform that cannot be reached at all.
    settings.XUNA_API_BASE_URL = "http://127.0.0.1:9"
    session.get("/")
    session.get(f"/conversations/{ids[6]}/")

    assert trap.received == []
    answers, records = len(session.answers), len(logs.records)
    assert answers > 70
    assert records > 500
    assert leaks(session, logs, trap) == []


def test_a_recording_on_another_https_host_is_fetched_without_the_key(
    as_role, emulator, logs, tls_trap, localhost_certificate, settings, monkeypatch
):
    # The test host stands for a listed CDN on the internet; loopback is otherwise refused.
    settings.XUNA_AUDIO_HOSTS = ["localhost"]
    monkeypatch.setattr(platform_client, "_is_public_address", lambda address: True)
    raw = emulator.raw(emulator.conversation_ids()[0])
    emulator.add_conversation(
        raw | {"conversation_id": "conv_cdn", "audio": f"{tls_trap.url}/recording.wav"}
    )
    session = Session(as_role("Reviewer"))
    # Trust the test host's certificate, as a company CA would be trusted in production.
    _, certificate = localhost_certificate
    transport._get_session(transport.read_config()).verify = str(certificate)

    response = session.get("/conversations/conv_cdn/audio")

    assert response.status_code == 200
    assert [r.path for r in tls_trap.received] == ["/recording.wav"]
    assert "xi-api-key" not in {name.lower() for name in tls_trap.received[0].headers}
    assert leaks(session, logs, tls_trap) == []


def test_a_crash_in_the_middle_of_a_platform_call_leaks_the_key_nowhere(
    as_role, emulator, logs, monkeypatch
):
    def crash(*args, **kwargs):
        raise RuntimeError("an unforeseen bug while the key was in hand")

    monkeypatch.setattr(transport, "_read_json", crash)
    user = as_role("Reviewer")
    user.raise_request_exception = False
    response = user.get(f"/conversations/{emulator.conversation_ids()[0]}/")
    session = Session(user)
    session.answers.append(("GET crash", response, response.content))

    assert response.status_code == 500
    assert any(r.exc_info for r in logs.records)
    assert leaks(session, logs) == []


def test_the_search_finds_the_key_wherever_it_is_planted(client, logs, trap):
    """The search above is only worth its silence if it finds a key that is there."""
    from django.http import HttpResponse

    session = Session(client)
    in_body, in_header = HttpResponse(f"key {EMULATOR_KEY}"), HttpResponse("ok")
    in_header["X-Debug"] = EMULATOR_KEY
    session.answers += [("body", in_body, in_body.content), ("header", in_header, b"ok")]
    logging.getLogger("urllib3").debug("sent %s", {"xi-api-key": EMULATOR_KEY})
    found = leaks(session, logs)
    assert found[:2] == ["body of body", "header X-Debug of header"]
    assert found[2].startswith("log record urllib3")


def test_the_key_is_hidden_in_the_settings_an_error_report_shows(settings):
    from django.views.debug import SafeExceptionReporterFilter

    shown = SafeExceptionReporterFilter().get_safe_settings()
    assert shown["XUNA_API_KEY"] != settings.XUNA_API_KEY
    assert EMULATOR_KEY not in repr(shown)


def test_the_clients_configuration_never_prints_the_key(emulator):
    assert EMULATOR_KEY not in repr(transport.read_config())
