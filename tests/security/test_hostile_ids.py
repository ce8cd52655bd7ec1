"""Hostile ids in every URL that takes one: only 400 or 404, and nothing reaches the platform.

The URLs are found in the URL patterns (any route with an id), the methods in the access
table; each is asked as an Admin, who may use all of them, so that the id is what stops it.
"""

import re
from urllib.parse import quote

import pytest

from conversations.models import AuditRecord
from tests.helpers import read_whole
from tests.security.access import ACCESS, url_patterns
from tests.security.tally import COUNTS, send

pytestmark = pytest.mark.django_db

VALID_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")

HOSTILE_IDS = {
    "dot-dot": "..",
    "encoded dot-dot": "%2e%2e",
    "double-encoded dot-dot": "%252e%252e",
    "slash": "a/b",
    "another host": "//evil.example",
    "question mark": "a?b",
    "hash": "a#b",
    "NUL": "conv_1\x00",
    "newline": "conv_1\n",
    "header injection": "conv_1\r\nX-Injected: 1",
    "10 KB": "x" * 10_240,
    "just too long": "c" * 129,
    "non-ASCII": "convé",
    "look-alike letters": "сonv_1",  # the first letter is Cyrillic
    "right-to-left override": "conv_\u202e1",
    "emoji": "conv_🙂",
    "full-width slash": "a／b",
    "space": "conv 1",
    "markup": "<script>alert(1)</script>",
    "semicolon": "conv_1;rm -rf",
    "empty after trim": " ",
}


def id_urls():
    """(route, kwarg name, methods an Admin may use) of each of the project's URLs with an id."""
    for key, route, _ in url_patterns():
        match = re.search(r"<str:(\w+_id)>", route)
        if match is None or key.startswith("admin"):
            continue
        row = ACCESS[key]
        methods = [m for m in ("GET", "POST", "DELETE") if "Admin" in getattr(row, m)]
        yield route, match[1], methods


def placements(value):
    """The id percent-encoded (all of it reaches the view) and, where it can be, as typed.

    As typed, ? and # end the path, so the view would get another, harmless id; and control
    characters cannot be typed into a request line at all (Python's URL parsing drops them).
    """
    yield "encoded", quote(value, safe="")
    if not re.search(r"[?#\x00-\x1f]", value):
        yield "as typed", value


def test_the_walk_covers_every_kind_of_id():
    kinds = {name for _, name, _ in id_urls()}
    assert kinds == {"conversation_id", "agent_id"}


@pytest.mark.parametrize("hostile", HOSTILE_IDS.values(), ids=HOSTILE_IDS.keys())
def test_a_hostile_id_gets_400_or_404_and_never_reaches_the_platform(as_role, emulator, hostile):
    admin = as_role("Admin")
    problems = []
    for route, name, methods in id_urls():
        for placement, segment in placements(hostile):
            path = "/" + route.replace(f"<str:{name}>", segment)
            for method in methods:
                emulator.clear_calls()
                response = send(admin, method, path)
                COUNTS["hostile"] += 1
                where = f"{method} {path[:80]!r} ({placement})"
                if response.status_code not in (400, 404):
                    problems.append(f"{where}: {response.status_code}")
                if emulator.calls:
                    problems.append(f"{where}: reached the platform: {emulator.calls}")
    assert not problems, "\n".join(problems)
    assert not AuditRecord.objects.exists()


@pytest.mark.parametrize("hostile", HOSTILE_IDS.values(), ids=HOSTILE_IDS.keys())
def test_a_hostile_agent_filter_is_refused_or_ignored_and_never_sent_on(as_role, emulator, hostile):
    admin = as_role("Admin")
    for path in ("/", "/export/"):
        emulator.clear_calls()
        response = send(admin, "GET", path, data={"agent": hostile, "format": "csv"})
        COUNTS["hostile"] += 1
        read_whole(response)
        assert response.status_code in (200, 400), path
        sent = [call.query.get("agent_id") for call in emulator.calls]
        assert all(agent is None or VALID_ID.fullmatch(agent) for agent in sent), sent


@pytest.mark.parametrize("path", ["/bulk/", "/bulk/delete"])
def test_hostile_ids_in_a_selection_are_dropped_before_any_platform_call(as_role, emulator, path):
    admin = as_role("Admin")
    emulator.clear_calls()
    response = send(
        admin,
        "POST",
        path,
        data={"ids": list(HOSTILE_IDS.values()), "action": "status", "status": "passed"},
    )
    COUNTS["hostile"] += len(HOSTILE_IDS)
    assert response.status_code in (302, 400)
    assert emulator.calls == []
    assert not AuditRecord.objects.exists()
