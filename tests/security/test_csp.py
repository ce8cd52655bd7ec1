"""The Content Security Policy, what htmx may do under it, and what the browser may keep.

Every URL pattern's answers carry the policy (tests/security/test_access_control.py checks
each of them); this file checks what the policy says, the answers no URL pattern produces
(errors, the lockout page), that no page holds code the policy would block, and that pages
with a conversation's content, or anything else a signed-in user is shown, are never stored.
"""

import json
import re
from pathlib import Path

import pytest

from tests.security.markup import Page, inline_code
from tests.security.tally import send

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates"
# What htmx would evaluate as JavaScript: hx-vars, js: values, event filters (click[...]).
EVALUATED = re.compile(r"""hx-vars|hx-vals=["']\s*(?:js|javascript):|hx-trigger=["'][^"']*\[""")


def policy(response):
    """{directive: [sources]} of the enforced policy."""
    header = response["Content-Security-Policy"]
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: sources for name, *sources in directives}


def test_the_policy_allows_only_our_own_code_and_nothing_inline(client):
    rules = policy(client.get("/login/"))
    assert rules["default-src"] == ["'self'"]
    assert rules["script-src"] == ["'self'"]
    assert rules["object-src"] == ["'none'"]
    assert rules["base-uri"] == ["'none'"]
    assert rules["frame-ancestors"] == ["'none'"]
    assert rules["form-action"] == ["'self'"]
    assert rules["media-src"] == ["'self'"]
    for sources in rules.values():
        assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "http:", "https:"} & set(sources)


def test_the_policy_is_enforced_not_only_reported(client):
    response = client.get("/login/")
    assert "Content-Security-Policy" in response
    assert "Content-Security-Policy-Report-Only" not in response


def test_error_pages_carry_the_policy_too(as_role, emulator):
    reviewer = as_role("Reviewer")
    emulator.set_fault("get", "503", retry_after=3600)
    answers = {
        "bad id": send(reviewer, "GET", "/conversations/a%3Fb/"),
        "no such page": send(reviewer, "GET", "/no/such/page"),
        "not allowed": send(reviewer, "GET", "/audit/"),
        "platform failure": send(
            reviewer, "GET", f"/conversations/{emulator.conversation_ids()[0]}/"
        ),
        "platform failure, htmx": send(
            reviewer,
            "GET",
            f"/conversations/{emulator.conversation_ids()[1]}/",
            headers={"HX-Request": "true"},
        ),
    }
    assert [answer.status_code for answer in answers.values()] == [400, 404, 403, 502, 502]
    for what, answer in answers.items():
        assert policy(answer)["script-src"] == ["'self'"], what


def test_a_crash_answers_500_with_the_policy_and_a_plain_page(as_role, emulator, monkeypatch):
    def crash(conversation_id):
        raise RuntimeError("a bug")

    monkeypatch.setattr("conversations.client.get_conversation", crash)
    reviewer = as_role("Reviewer")
    reviewer.raise_request_exception = False
    response = reviewer.get(f"/conversations/{emulator.conversation_ids()[0]}/")
    assert response.status_code == 500
    assert policy(response)["script-src"] == ["'self'"]
    assert "RuntimeError" not in response.content.decode()


def test_htmx_is_configured_to_need_neither_eval_nor_inline_styles(as_role, emulator):
    html = as_role("Reviewer").get("/").content.decode()
    meta = next(attrs for tag, attrs in Page(html).elements if attrs.get("name") == "htmx-config")
    config = json.loads(meta["content"])
    assert config["includeIndicatorStyles"] is False
    assert config["allowEval"] is False
    assert config["allowScriptTags"] is False
    assert config["historyCacheSize"] == 0
    assert config["selfRequestsOnly"] is True


def test_no_template_holds_inline_code_or_hx_on():
    offences = {}
    for path in TEMPLATES.rglob("*.html"):
        source = path.read_text()
        found = inline_code(source)
        found += [f"{m[0]}...: evaluated by htmx" for m in EVALUATED.finditer(source)]
        if found:
            offences[str(path.relative_to(TEMPLATES))] = found
    assert not offences


@pytest.mark.parametrize("role", ["Reviewer", "Lead", "Admin"])
def test_no_rendered_page_holds_inline_code(as_role, emulator, role):
    user = as_role(role)
    conversation_id = next(i for i in emulator.conversation_ids() if emulator.raw(i).get("audio"))
    agent_id = emulator.agents[0][0]
    pages = [
        "/",
        f"/?agent={agent_id}",
        f"/conversations/{conversation_id}/",
        "/audit/",
        "/login/",
        "/no/such/page",
    ]
    if role == "Admin":
        pages.append(f"/conversations/{conversation_id}/delete")
    for path in pages:
        response = user.get(path)
        assert response.status_code in (200, 302, 403, 404), path
        assert inline_code(response.content.decode()) == [], path


def test_the_lockout_page_carries_the_policy(client, make_user):
    make_user("Reviewer", username="rita")
    for _ in range(5):
        client.post("/login/", {"username": "rita", "password": "wrong"})
    response = client.post("/login/", {"username": "rita", "password": "wrong"})
    assert response.status_code == 429
    assert policy(response)["script-src"] == ["'self'"]
    assert inline_code(response.content.decode()) == []


# Nothing of a conversation is kept by the browser


def test_the_conversation_page_is_never_stored(as_role, emulator):
    response = as_role("Reviewer").get(f"/conversations/{emulator.conversation_ids()[0]}/")
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


@pytest.mark.parametrize("range_header", [None, "bytes=0-99"])
def test_the_recording_is_never_stored(as_role, emulator, range_header):
    conversation_id = next(i for i in emulator.conversation_ids() if emulator.raw(i).get("audio"))
    headers = {"Range": range_header} if range_header else {}
    response = as_role("Reviewer").get(f"/conversations/{conversation_id}/audio", headers=headers)
    response.close()
    assert response.status_code in (200, 206)
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("endpoint", ["signed-url", "token"])
def test_agent_credentials_are_never_stored(as_role, emulator, endpoint):
    response = as_role("Admin").get(f"/agents/{emulator.agents[0][0]}/{endpoint}")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


SIGNED_IN_PAGES = {
    "the list": ("GET", "/", {}),
    "the audit log": ("GET", "/audit/", {}),
    "the audit log as CSV": ("GET", "/audit/?format=csv", {}),
    "the delete page": ("GET", "/conversations/{id}/delete", {}),
    "a review fragment": ("POST", "/conversations/{id}/review", {"HX-Request": "true"}),
}


@pytest.mark.parametrize("page", SIGNED_IN_PAGES.values(), ids=SIGNED_IN_PAGES.keys())
def test_what_a_signed_in_user_is_shown_is_never_stored(as_role, emulator, page):
    method, path, headers = page
    path = path.format(id=emulator.conversation_ids()[0])
    data = {"status": "flagged", "tags": "billing"} if method == "POST" else None
    response = send(as_role("Admin"), method, path, data=data, headers=headers)
    if response.streaming:
        b"".join(response.streaming_content)
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"


def test_static_files_keep_their_long_caching_for_a_signed_in_user(as_role, emulator):
    response = as_role("Admin").get("/static/app.js")
    b"".join(response.streaming_content)
    assert response.status_code == 200
    assert "no-store" not in response["Cache-Control"]
    assert "max-age=" in response["Cache-Control"]
