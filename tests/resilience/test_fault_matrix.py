"""Every way the platform can fail, on every endpoint the dashboard uses, seen through its pages.

For each (surface, fault): no 500, an answer within the deadline plus a second, a page or
fragment that says what happened, and, for a deletion, no audit record claiming a success
that did not happen on the platform. The emulator's fault knobs make the failures; a closed
port makes the refused connection, and another host (the trap) the target of redirects.
"""

import logging
import time

import pytest
from django.core.cache import cache

from conversations import client as platform_client
from conversations.models import AuditRecord
from tests.helpers import DEADLINE, closed_port
from tests.security.tally import COUNTS, send

pytestmark = pytest.mark.django_db

# Where each endpoint of the platform shows in the dashboard: (emulator endpoint, what the
# user does). `delete` is the confirmation dialog posted from the list, as htmx sends it.
SURFACES = {
    "list": "list",
    "list, load more": "list",
    "conversation": "get",
    "recording": "audio",
    "delete": "delete",
    "signed URL": "signed_url",
    "token": "token",
}
# The fault kinds, and the extra settings of the emulator's fault for each.
FAULTS = {
    "refused": None,  # a closed port, not an emulator fault
    "timeout": ("hang", {"seconds": DEADLINE + 2}),
    "trickle": ("trickle", {}),
    "500": ("500", {}),
    "502": ("502", {}),
    "503, retry in an hour": ("503", {"retry_after": 3600}),
    "429": ("429", {}),
    "401": ("401", {}),
    "404": ("404", {}),
    "HTML body": ("html", {}),
    "truncated JSON": ("truncated", {}),
    "wrong types": ("wrong_types", {}),
    "50 MB body": ("huge", {"size_mb": 50}),
    "redirect elsewhere": ("redirect", {}),
    "connection reset": ("reset", {}),
}
STATUS = {
    "refused": 502,
    "timeout": 504,
    "trickle": 504,
    "500": 502,
    "502": 502,
    "503, retry in an hour": 502,
    "429": 503,
    "401": 502,
    "404": 404,
    "HTML body": 502,
    "truncated JSON": 502,
    "wrong types": 502,
    "50 MB body": 502,
    "redirect elsewhere": 502,
    "connection reset": 502,
}
# Where a surface rightly answers otherwise.
SPECIAL = {
    # The list always exists: its 404 means a wrong base URL, a configuration problem.
    ("list", "404"): 502,
    ("list, load more", "404"): 502,
    # Fields of the wrong type are shown as problems, the rest of the page as usual.
    ("list", "wrong types"): 200,
    ("list, load more", "wrong types"): 200,
    ("conversation", "wrong types"): 200,
    # Deleting: `{}` trickles in within the deadline, so the deletion is confirmed; a 404
    # means there is nothing left to delete. Both answer with the row's removal.
    ("delete", "trickle"): 200,
    ("delete", "404"): 200,
    # The platform deleted, then its answer could not be read: asked afterwards, it no longer
    # has the conversation, which confirms the deletion.
    ("delete", "truncated JSON"): 200,
    ("delete", "50 MB body"): 200,
    # The recording's headers came in time; it then streams as slowly as the platform sends.
    ("recording", "trickle"): 200,
    # Half a recording with a matching length is indistinguishable from a short one.
    ("recording", "truncated JSON"): 200,
}
# What the page must say for each answer, and for the answers that are not errors.
SAYS = {
    404: "not found",
    502: "platform",
    503: "busy",
    504: "did not answer in time",
}
SAYS_WHEN_ANSWERED = {
    "list": "could not be read",
    "list, load more": "could not be read",
    "conversation": "could not be read",
}
# The surfaces htmx asks for: they must get a fragment, not a page inside the page.
HTMX_SURFACES = {"list, load more", "delete", "signed URL"}


@pytest.fixture
def target(platform):
    """A conversation with a recording, added for this test alone.

    A deletion that hangs still happens on the platform once the hang ends; with an id no
    other test uses, such a late deletion cannot remove a conversation a later test needs.
    """
    seeded = next(i for i in platform.conversation_ids() if platform.raw(i).get("audio"))
    raw = platform.raw(seeded) | {"conversation_id": f"conv_fault_{time.monotonic_ns()}"}
    return platform.add_conversation(raw)


def break_platform(surface, fault, platform, settings, trap, target):
    """Put the fault in place: on the emulator, or as a closed port."""
    if FAULTS[fault] is None:
        port = closed_port()
        if surface == "recording":
            # The conversation comes through; its recording sits on a host that is down.
            raw = platform.raw(target) | {"audio": f"https://127.0.0.1:{port}/rec.wav"}
            platform.add_conversation(raw)
        else:
            settings.XUNA_API_BASE_URL = f"http://127.0.0.1:{port}"
        return
    kind, options = FAULTS[fault]
    if kind == "redirect":
        options = {"location": f"{trap.url}/stolen"}
    platform.set_fault(SURFACES[surface], kind, **options)


def ask(surface, admin, target, cursor, agent):
    """Do what the user does on this surface; returns the answer."""
    htmx = {"HX-Request": "true"} if surface in HTMX_SURFACES else {}
    if surface == "list":
        return send(admin, "GET", "/")
    if surface == "list, load more":
        return send(admin, "GET", f"/?cursor={cursor}", headers=htmx)
    if surface == "conversation":
        return send(admin, "GET", f"/conversations/{target}/")
    if surface == "recording":
        return send(admin, "GET", f"/conversations/{target}/audio")
    if surface == "delete":
        data = {"reason": "fault matrix", "origin": "list"}
        return send(admin, "POST", f"/conversations/{target}/delete", data=data, headers=htmx)
    if surface == "signed URL":
        return send(admin, "GET", f"/agents/{agent}/signed-url", headers=htmx)
    return send(admin, "GET", f"/agents/{agent}/token")


def body_of(response):
    """The text of an answer; of a stream only the first piece (a recording may trickle)."""
    if not response.streaming:
        return response.content.decode()
    first = next(iter(response.streaming_content), b"")
    response.close()
    return first.decode("latin-1")


CASES = [
    pytest.param(surface, fault, id=f"{surface}-{fault}")
    for surface in SURFACES
    for fault in FAULTS
]


@pytest.mark.parametrize(("surface", "fault"), CASES)
def test_a_failing_platform_gets_a_clear_answer_in_time_and_never_a_500(
    surface, fault, platform, settings, trap, target, as_role, caplog
):
    admin = as_role("Admin")
    agent = platform.agents[0][0]
    cursor = None
    if surface == "list, load more":
        cursor = platform_client.list_conversations(page_size=settings.XUNA_PAGE_SIZE).next_cursor
        cache.clear()
    break_platform(surface, fault, platform, settings, trap, target)
    expected = SPECIAL.get((surface, fault), STATUS[fault])

    started = time.monotonic()
    response = ask(surface, admin, target, cursor, agent)
    seconds = time.monotonic() - started
    text = body_of(response)
    COUNTS["faults"] += 1

    assert response.status_code == expected, text[:300]
    assert seconds <= DEADLINE + 1, f"answered after {seconds:.2f} s"
    if expected != 200:
        assert SAYS[expected] in text.lower()
    elif surface == "recording":
        assert response["Content-Type"].startswith("audio/")
    elif surface == "delete":
        assert f"Conversation {target} was" in text  # deleted, or already gone
    else:
        assert SAYS_WHEN_ANSWERED[surface] in text
    if surface in HTMX_SURFACES:
        assert "<html" not in text
    assert trap.received == []
    if fault == "401":
        assert "tell an administrator" in text
        assert "log in" not in text.lower().split("</header>")[-1]
        assert any(
            r.levelno >= logging.ERROR and "Configuration error" in r.getMessage()
            for r in caplog.records
        )
    if surface == "delete":
        records = AuditRecord.objects.filter(conversation_id=target)
        claimed = records.filter(outcome="deleted").exists()
        if claimed:
            assert target not in platform.conversation_ids()
        if expected != 200:
            assert not claimed
            assert 'role="alert"' in text
            assert records.exists()  # the request is on record, attempted or not
