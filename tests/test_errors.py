"""Every error an htmx request can get is an HTML fragment with a sentence (conversations.errors).

htmx swaps 4xx and 5xx answers into the page: a whole page, or bare text, would replace a
panel with it. A request without htmx gets a whole page with the same sentence.
"""

import pytest
from django.test import Client

from conversations import client as platform

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def assert_part_of_a_page(response, status, sentence):
    html = response.content.decode()
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    assert "<html" not in html
    assert sentence in html
    return html


def assert_fragment(response, status, sentence):
    assert 'role="alert"' in assert_part_of_a_page(response, status, sentence)


def test_a_bad_cursor_on_load_more_is_a_fragment_that_says_the_link_is_bad(as_role, emulator):
    response = as_role("Reviewer").get("/", {"cursor": "a b"}, headers=HTMX)
    assert_fragment(response, 400, "That page link is not valid.")
    assert emulator.calls == []


def test_a_fragment_the_role_does_not_allow_is_a_fragment_that_says_so(as_role, emulator):
    agent_id, _ = emulator.agents[0]
    response = as_role("Reviewer").get(f"/agents/{agent_id}/token", headers=HTMX)
    assert_fragment(response, 403, "Your role does not allow this.")
    assert emulator.calls == []


def test_a_page_the_role_does_not_allow_is_a_whole_page_that_says_so(as_role, emulator):
    response = as_role("Reviewer").get("/audit/")
    assert response.status_code == 403
    assert "<html" in response.content.decode()
    assert "Your role does not allow this." in response.content.decode()


def test_an_unknown_address_asked_by_htmx_is_a_fragment(as_role, emulator):
    response = as_role("Reviewer").get("/no-such-page/", headers=HTMX)
    assert_fragment(response, 404, "There is nothing at this address.")


def test_a_conversation_the_platform_does_not_have_is_a_fragment(as_role, emulator):
    response = as_role("Admin").get("/conversations/conv_never_existed/delete", headers=HTMX)
    assert_fragment(response, 404, "Go back to the list and pick another one.")


def test_a_wrong_method_asked_by_htmx_is_a_fragment_that_keeps_the_allowed_ones(as_role, emulator):
    response = as_role("Admin").get("/bulk/delete", headers=HTMX)
    assert_fragment(response, 405, "This address does not take that kind of request.")
    assert response["Allow"] == "POST"


def test_a_refused_review_asked_by_htmx_is_the_panel_with_the_reason(as_role, emulator, make_user):
    make_user("Reviewer", username="other")
    conversation_id = emulator.conversation_ids()[0]
    response = as_role("Reviewer").post(
        f"/conversations/{conversation_id}/review", {"assignee": "other"}, headers=HTMX
    )
    sentence = "Only leads and admins can assign conversations."
    assert 'id="review-panel"' in assert_part_of_a_page(response, 400, sentence)


def test_a_review_conflict_asked_by_htmx_is_the_panel_saying_what_changed(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    url = f"/conversations/{conversation_id}/review"
    reviewer = as_role("Reviewer")
    reviewer.post(url, {"tags": "first", "tags_was": ""}, headers=HTMX)
    response = reviewer.post(url, {"tags": "second", "tags_was": ""}, headers=HTMX)
    html = assert_part_of_a_page(response, 409, "someone else changed this review")
    assert 'id="review-panel"' in html


def test_a_refused_deletion_asked_by_htmx_is_a_fragment_that_says_why(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    response = as_role("Lead").post(
        f"/conversations/{conversation_id}/delete", {"reason": "pci"}, headers=HTMX
    )
    assert_fragment(response, 403, "You do not have permission to delete conversations.")


def test_a_refused_deletion_asked_by_our_script_is_json_that_says_why(as_role, emulator):
    ids = emulator.conversation_ids()[:1]
    response = as_role("Lead").post(
        "/bulk/delete", {"ids": ids, "reason": "pci"}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 403
    assert response.json() == {"error": "You do not have permission to delete conversations."}


def test_an_export_refused_as_busy_asked_by_htmx_is_a_fragment(as_role, emulator, settings):
    settings.EXPORT_MAX_TOTAL = 0
    response = as_role("Lead").get("/export/", {"format": "csv"}, headers=HTMX)
    assert_fragment(response, 429, "Other exports are running now")


def test_an_unknown_export_format_is_a_sentence_not_bare_text(as_role, emulator):
    response = as_role("Lead").get("/export/", {"format": "xlsx"}, headers=HTMX)
    assert_fragment(response, 400, "format=csv or format=jsonl")


def test_an_unknown_bulk_action_asked_by_htmx_is_a_toast(as_role, emulator):
    ids = emulator.conversation_ids()[:1]
    response = as_role("Lead").post("/bulk/", {"ids": ids, "action": "explode"}, headers=HTMX)
    sentence = "Choose what to do with the selection first."
    assert 'class="toast error"' in assert_part_of_a_page(response, 400, sentence)


def test_a_form_sent_without_its_csrf_token_asked_by_htmx_is_a_fragment(make_user, emulator):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(make_user("Reviewer"))
    conversation_id = emulator.conversation_ids()[0]
    response = browser.post(
        f"/conversations/{conversation_id}/review", {"status": "passed"}, headers=HTMX
    )
    assert_fragment(response, 403, "Reload the page, then send the form again.")


def test_a_crash_asked_by_htmx_is_a_fragment(make_user, emulator, monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(platform, "get_conversation", crash)
    browser = Client(raise_request_exception=False)
    browser.force_login(make_user("Reviewer"))
    response = browser.get(f"/conversations/{emulator.conversation_ids()[0]}/", headers=HTMX)
    assert_fragment(response, 500, "The error was logged.")
