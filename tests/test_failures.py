"""Failures that say what happened: the platform's own wait, "Try again" on every error,
the dashboard's page for every refusal, a confirmation and a way back without JavaScript,
an export that fails visibly, and a list that comes back as long as it was."""

import pytest
from django.test import Client, RequestFactory

from conversations import export, health
from conversations.models import AuditRecord
from tests.helpers import row_ids

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def assert_dashboard_page(response, status):
    """The dashboard's own page: its header, its stylesheet, a way back."""
    html = response.content.decode()
    assert response.status_code == status
    assert 'class="brand"' in html
    assert 'rel="stylesheet" href="/static/app.css"' in html
    assert "Back to the conversations" in html
    return html


# The platform's own wait ----------------------------------------------------------------------


def test_a_rate_limited_page_says_how_long_the_platform_asked_to_wait(as_role, emulator):
    emulator.set_fault("list", "429", retry_after=30)
    response = as_role("Reviewer").get("/")
    assert response.status_code == 503
    assert "The platform asked us to wait 30 seconds" in response.content.decode()
    assert "a few seconds" not in response.content.decode()
    assert response["Retry-After"] == "30"


def test_a_rate_limited_fragment_says_how_long_too(as_role, emulator):
    emulator.set_fault("list", "429", retry_after=30)
    response = as_role("Reviewer").get("/", {"cursor": "abc"}, headers=HTMX)
    assert response.status_code == 503
    assert "The platform asked us to wait 30 seconds" in response.content.decode()
    assert response["Retry-After"] == "30"


def test_a_rate_limit_without_a_figure_still_says_a_few_seconds(as_role, emulator):
    emulator.set_fault("list", "429")
    response = as_role("Reviewer").get("/")
    assert "Wait a few seconds" in response.content.decode()
    assert "Retry-After" not in response


# "Try again" ---------------------------------------------------------------------------------


def test_an_error_page_offers_to_ask_the_same_address_again(as_role, emulator):
    emulator.set_fault("list", "503")
    response = as_role("Reviewer").get("/", {"review": "flagged"})
    html = assert_dashboard_page(response, 502)
    assert '<a class="button" href="/?review=flagged">Try again</a>' in html


def test_an_error_fragment_has_a_button_that_asks_again_in_its_place(as_role, emulator):
    emulator.set_fault("list", "503")
    response = as_role("Reviewer").get("/", {"cursor": "abc"}, headers=HTMX)
    html = response.content.decode()
    assert 'hx-get="/?cursor=abc"' in html
    assert 'hx-target="closest .error-box"' in html
    assert 'hx-swap="outerHTML"' in html
    assert ">Try again</button>" in html


def test_a_failed_form_is_tried_again_from_the_page_it_was_sent_from(as_role, emulator):
    reviewer = as_role("Reviewer")
    response = reviewer.post(
        "/conversations/conv_never_existed/review",
        {"status": "passed"},
        headers={"Referer": "http://testserver/conversations/conv_never_existed/?review=x"},
    )
    assert response.status_code == 404
    assert 'href="/conversations/conv_never_existed/?review=x">Try again' in (
        response.content.decode()
    )


def test_a_referer_of_another_site_is_never_a_way_to_try_again(as_role, emulator):
    response = as_role("Reviewer").post(
        "/conversations/conv_never_existed/review",
        {"status": "passed"},
        headers={"Referer": "https://evil.example/steal"},
    )
    assert response.status_code == 404
    assert "evil.example" not in response.content.decode()
    assert "Try again" not in response.content.decode()


def test_a_wrong_method_is_not_offered_again(as_role, emulator):
    response = as_role("Admin").get("/bulk/delete")
    assert_dashboard_page(response, 405)
    assert "Try again" not in response.content.decode()


# Every refusal is the dashboard's page --------------------------------------------------------


def test_a_reviewer_opening_a_delete_address_gets_the_dashboards_403(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    response = as_role("Reviewer").get(f"/conversations/{conversation_id}/delete")
    html = assert_dashboard_page(response, 403)
    assert "You do not have permission to delete conversations." in html


def test_a_page_the_role_may_not_see_is_the_dashboards_403(as_role, emulator):
    html = assert_dashboard_page(as_role("Reviewer").get("/audit/"), 403)
    assert "Your role does not allow this." in html


def test_a_form_without_its_token_is_the_dashboards_403(make_user, emulator):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(make_user("Reviewer"))
    conversation_id = emulator.conversation_ids()[0]
    response = browser.post(f"/conversations/{conversation_id}/review", {"status": "passed"})
    html = assert_dashboard_page(response, 403)
    assert "The form expired" in html


def test_an_unknown_address_is_the_dashboards_404(as_role, emulator):
    html = assert_dashboard_page(as_role("Reviewer").get("/no-such-page/"), 404)
    assert "There is nothing at this address." in html


def test_a_form_too_large_to_read_is_the_dashboards_400(as_role, emulator, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    fields = {f"f{number}": "x" for number in range(10)}
    response = as_role("Lead").post("/bulk/", fields)
    assert_dashboard_page(response, 400)


def test_a_wrong_method_is_the_dashboards_405(as_role, emulator):
    assert_dashboard_page(as_role("Admin").get("/bulk/delete"), 405)


@pytest.mark.parametrize("status", [500, 503])
def test_our_own_failure_is_a_page_with_the_dashboards_header_and_a_try_again(status):
    from django.db import OperationalError

    request = RequestFactory().get("/audit/?page=2&x=1")
    error = OperationalError("down") if status == 503 else RuntimeError("a bug")
    try:
        raise error
    except Exception:
        response = health.server_error(request)
    html = assert_dashboard_page(response, status)
    assert 'href="/audit/?page=2&amp;x=1">Try again</a>' in html


# Without JavaScript --------------------------------------------------------------------------


def test_a_review_saved_without_javascript_says_so_on_the_next_page(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    reviewer = as_role("Reviewer")
    response = reviewer.post(
        f"/conversations/{conversation_id}/review", {"status": "passed"}, follow=True
    )
    assert response.redirect_chain
    assert '<div class="toast success" role="status">Review saved.</div>' in (
        response.content.decode()
    )


def test_a_review_saved_with_htmx_has_no_message_left_for_the_next_page(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    reviewer = as_role("Reviewer")
    reviewer.post(f"/conversations/{conversation_id}/review", {"status": "passed"}, headers=HTMX)
    assert "Review saved." not in reviewer.get("/").content.decode()


def test_cancel_on_the_delete_page_goes_back_to_the_filtered_list(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    response = as_role("Admin").get(
        f"/conversations/{conversation_id}/delete", {"next": "/?review=flagged&sort=duration"}
    )
    html = response.content.decode()
    assert 'href="/?review=flagged&amp;sort=duration" data-close autofocus>Cancel' in html
    assert '<input type="hidden" name="next" value="/?review=flagged&amp;sort=duration">' in html


def test_cancel_goes_back_to_the_page_the_link_was_on(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    detail = f"/conversations/{conversation_id}/?review=flagged"
    response = as_role("Admin").get(
        f"/conversations/{conversation_id}/delete",
        headers={"Referer": f"http://testserver{detail}"},
    )
    assert f'href="{detail.replace("&", "&amp;")}" data-close autofocus>Cancel' in (
        response.content.decode()
    )


@pytest.mark.parametrize(
    "unsafe",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "https:/evil.example/",
        "javascript:alert(1)",
        "/x/delete",
        # Our own host, with a path that is itself another site's address.
        "http://testserver//evil.example/",
        "http://testserver/\\evil.example/",
        "http://testserver/\t/evil.example/",
    ],
)
def test_a_return_address_elsewhere_is_not_followed(as_role, emulator, unsafe):
    conversation_id = emulator.conversation_ids()[0]
    response = as_role("Admin").get(f"/conversations/{conversation_id}/delete", {"next": unsafe})
    html = response.content.decode()
    assert 'href="/" data-close autofocus>Cancel' in html
    assert "evil.example" not in html
    assert 'name="next"' not in html


def test_a_deletion_without_javascript_goes_back_to_the_filtered_list(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    response = as_role("Admin").post(
        f"/conversations/{conversation_id}/delete",
        {"reason": "asked by the customer", "next": "/?review=flagged"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/?review=flagged"


@pytest.mark.parametrize(
    "unsafe", ["http://testserver//evil.example/", "http://testserver/\\evil.example/"]
)
def test_a_deletion_never_redirects_to_another_site(as_role, emulator, unsafe):
    conversation_id = emulator.conversation_ids()[0]
    response = as_role("Admin").post(
        f"/conversations/{conversation_id}/delete",
        {"reason": "asked by the customer", "next": unsafe},
    )
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_a_deletion_from_its_own_page_goes_to_the_list_not_to_the_deleted_page(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    response = as_role("Admin").post(
        f"/conversations/{conversation_id}/delete",
        {"reason": "asked by the customer", "next": f"/conversations/{conversation_id}/"},
    )
    assert response["Location"] == "/"


# The list comes back as long as it was --------------------------------------------------------


def test_load_more_writes_how_many_rows_are_shown_into_the_address(as_role, emulator):
    reviewer = as_role("Reviewer")
    first = reviewer.get("/").content.decode()
    assert len(row_ids(first)) == 50
    assert "shown=50" in first
    cursor = first.split("cursor=")[1].split("&")[0]
    more = reviewer.get("/", {"cursor": cursor, "shown": "50"}, headers=HTMX)
    assert len(row_ids(more.content.decode())) == 50
    assert more["HX-Replace-Url"] == "/?shown=100"
    assert "shown=100" in more.content.decode()


def test_the_list_at_an_address_with_shown_shows_that_many_rows_in_order(as_role, emulator):
    reviewer = as_role("Reviewer")
    html = reviewer.get("/", {"shown": "100"}).content.decode()
    assert row_ids(html) == emulator.conversation_ids()[:100]
    assert "shown=100" in html


def test_a_shown_that_is_not_a_number_shows_one_page(as_role, emulator):
    html = as_role("Reviewer").get("/", {"shown": "lots"}).content.decode()
    assert len(row_ids(html)) == 50


def test_shown_is_bounded(as_role, emulator, monkeypatch):
    from conversations import views

    monkeypatch.setattr(views, "SHOWN_MAX", 100)
    html = as_role("Reviewer").get("/", {"shown": "100000"}).content.decode()
    assert len(row_ids(html)) == 100


def test_shown_searches_the_platform_no_further_than_one_load_more(as_role, emulator, monkeypatch):
    from conversations import reviews

    monkeypatch.setattr(reviews, "MAX_SCAN", 100)
    emulator.clear_calls()
    # No index: a filter of the dashboard's own searches the platform's pages; none match.
    html = as_role("Reviewer").get("/", {"review": "flagged", "shown": "1000"}).content.decode()
    assert row_ids(html) == []
    assert [c.endpoint for c in emulator.calls].count("list") == 1


# An export that fails says so ---------------------------------------------------------------


def test_an_export_the_platform_fails_before_the_first_row_is_an_error_not_a_file(
    as_role, emulator
):
    emulator.set_fault("list", "503")
    lead = as_role("Lead")
    response = lead.get("/export/", {"format": "csv", "progress": "tok12345fail"})
    assert response.status_code == 502
    assert "Content-Disposition" not in response
    html = assert_dashboard_page(response, 502)
    assert "The export failed" in html
    assert "nothing was exported" in html
    assert "incomplete" in AuditRecord.objects.get().detail
    progress = lead.get("/export/progress", {"token": "tok12345fail"}).json()
    assert "incomplete" in progress["problem"]


def test_an_export_that_failed_at_the_start_gives_its_place_back(as_role, emulator, settings):
    settings.EXPORT_MAX_PER_USER = 1
    emulator.set_fault("list", "503")
    lead = as_role("Lead")
    assert lead.get("/export/", {"format": "jsonl"}).status_code == 502
    emulator.clear_faults()
    response = lead.get("/export/", {"format": "jsonl"})
    assert response.status_code == 200
    assert b"".join(response.streaming_content)


def test_an_export_the_platform_fails_midway_ends_without_ending_the_file(as_role, emulator):
    lead = as_role("Lead")
    response = lead.get("/export/", {"format": "jsonl"})
    lines = iter(response.streaming_content)
    next(lines)
    emulator.set_fault("list", "503")
    # The test client closes the response as the stream ends (and keeps the test's database
    # connection open while it does; closing it again here would not).
    with pytest.raises(export.ExportAborted):
        list(lines)
    assert "incomplete" in AuditRecord.objects.get().detail
