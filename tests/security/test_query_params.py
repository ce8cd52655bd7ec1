"""Garbage in query parameters gets a 400 or is ignored: never a 500, never a platform error."""

import pytest

from conversations import client, index
from tests.helpers import read_whole
from tests.security.tally import COUNTS, send

pytestmark = pytest.mark.django_db

GARBAGE = {
    "empty": "",
    "word": "garbage",
    "made-up cursor": "eyJ0IjogMX0",
    "negative": "-1",
    "zero": "0",
    "huge number": "9" * 40,
    "float": "1.5e308",
    "NaN": "NaN",
    "NUL": "\x00",
    "newline": "a\nb",
    "non-ASCII": "é",
    "markup": "<script>alert(1)</script>",
    "SQL": "' OR 1=1 --",
    "template": "{{ settings.SECRET_KEY }}",
    "10 KB": "x" * 10_240,
    "another host": "//evil.example",
}
# Every parameter a page reads, and a few a page might be expected to read.
PAGES = {
    "/": [
        *["cursor", "agent", "review", "tag", "assigned", "page_size", "status", "q", "sort"],
        *["since", "until", "min_minutes", "max_minutes", "outcome", "criterion", "result"],
        *["data_key", "data_value"],
    ],
    "/audit/": ["page", "user", "outcome", "since", "until", "format"],
    "/export/": ["format", "progress", "agent", "review", "tag", "assigned"],
    "/export/progress": ["token"],
}


CASES = [
    pytest.param(path, name, id=f"{path}?{name}") for path, names in PAGES.items() for name in names
]


@pytest.mark.parametrize(("path", "name"), CASES)
def test_garbage_in_a_parameter_is_refused_or_ignored(as_role, emulator, path, name):
    # An export reads every matching conversation: a few kinds of garbage are enough there.
    kinds = ("word", "huge number", "NUL", "markup", "10 KB") if path == "/export/" else GARBAGE
    # One agent's conversations: a page or two to export, not the whole workspace.
    other = {"format": "csv", "agent": emulator.agents[0][0]} if path == "/export/" else {}
    problems = garbage_problems(as_role("Admin"), path, name, kinds, other)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", PAGES["/"])
def test_garbage_in_a_list_the_index_answers_is_refused_or_ignored(as_role, emulator, name):
    index.store(client.get_conversation(emulator.conversation_ids()[0]))
    # Beside a filter only the index answers, so that the garbage reaches its queries.
    other = {"outcome": "failure"} if name == "sort" else {"sort": "oldest"}
    problems = garbage_problems(as_role("Admin"), "/", name, GARBAGE, other)
    assert not problems, "\n".join(problems)


def garbage_problems(user, path, name, kinds, other):
    problems = []
    for label in kinds:
        response = send(user, "GET", path, data={**other, name: GARBAGE[label]})
        read_whole(response)
        COUNTS["hostile"] += 1
        if response.status_code not in (200, 400):
            problems.append(f"{name}={label}: {response.status_code}")
    return problems


def test_a_made_up_cursor_is_a_bad_link_not_a_platform_failure(as_role, emulator):
    response = as_role("Reviewer").get("/", {"cursor": "not-a-real-cursor"})
    assert response.status_code == 400
    assert "page link is not valid" in response.content.decode()


def test_a_made_up_cursor_in_load_more_gets_an_error_fragment(as_role, emulator):
    response = as_role("Reviewer").get(
        "/", {"cursor": "not-a-real-cursor"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 400
    assert "<html" not in response.content.decode()
