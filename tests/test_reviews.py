"""The review workflow: status, assignee, tags and notes, history, filters, save and next."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conversations.models import Review, ReviewChange, Tag

pytestmark = pytest.mark.django_db


def row_ids(html):
    return re.findall(r'<tr id="row-([A-Za-z0-9_-]+)"', html)


def review(conversation_id, **fields):
    return Review.objects.create(conversation_id=conversation_id, **fields)


def test_the_review_panel_saves_status_tags_and_notes_and_records_each_change(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    response = as_role("Reviewer").post(
        f"/conversations/{conversation_id}/review",
        {"status": "flagged", "tags": "billing, refund,billing", "notes": "Agent misquoted"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert 'id="review-panel"' in response.content.decode()
    saved = Review.objects.get(conversation_id=conversation_id)
    assert (saved.status, saved.tags, saved.notes) == (
        "flagged",
        ["billing", "refund"],
        "Agent misquoted",
    )
    changes = {c.field: (c.old_value, c.new_value, c.username) for c in ReviewChange.objects.all()}
    assert changes["status"] == ("Unreviewed", "Flagged", "reviewer-user")
    assert changes["tags"] == ("", "billing, refund", "reviewer-user")
    assert set(Tag.objects.values_list("name", flat=True)) == {"billing", "refund"}


def test_saving_without_changes_records_nothing(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    reviewer = as_role("Reviewer")
    for _ in range(2):
        reviewer.post(f"/conversations/{conversation_id}/review", {"status": "passed"})
    assert ReviewChange.objects.count() == 1


def test_the_history_shows_on_the_conversation_page(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    reviewer = as_role("Reviewer")
    reviewer.post(f"/conversations/{conversation_id}/review", {"status": "passed"})
    html = reviewer.get(f"/conversations/{conversation_id}/").content.decode()
    assert "reviewer-user changed status from “Unreviewed” to “Passed”" in html


def test_without_javascript_saving_redirects_back_to_the_conversation(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    response = as_role("Reviewer").post(
        f"/conversations/{conversation_id}/review", {"status": "passed"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/conversations/{conversation_id}/"


def test_a_reviewer_cannot_assign(as_role, emulator, make_user):
    make_user("Reviewer", username="other")
    conversation_id = emulator.conversation_ids()[0]
    response = as_role("Reviewer").post(
        f"/conversations/{conversation_id}/review", {"assignee": "other"}
    )
    assert response.status_code == 400
    assert not Review.objects.exists()


def test_a_lead_assigns_and_the_list_shows_it(as_role, emulator, make_user):
    make_user("Reviewer", username="rita")
    conversation_id = emulator.conversation_ids()[0]
    lead = as_role("Lead")
    lead.post(f"/conversations/{conversation_id}/review", {"assignee": "rita"})
    assert Review.objects.get().assignee.username == "rita"
    html = lead.get("/").content.decode()
    assert f'<td id="assignee-{conversation_id}">rita</td>' in html


def test_users_without_a_role_cannot_review(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    response = as_role(None).post(f"/conversations/{conversation_id}/review", {"status": "passed"})
    assert response.status_code == 403


def test_a_hostile_id_cannot_be_reviewed(as_role, emulator):
    response = as_role("Reviewer").post("/conversations/%2e%2e/review", {"status": "passed"})
    assert response.status_code == 400
    assert not Review.objects.exists()


def test_the_list_reads_reviews_with_one_query_whatever_the_number_of_rows(as_role, emulator):
    reviewer = as_role("Reviewer")
    reviewer.get("/")
    with CaptureQueriesContext(connection) as without_reviews:
        reviewer.get("/")
    for conversation_id in emulator.conversation_ids()[:50]:
        review(conversation_id, status="passed", tags=["a", "b"])
    with CaptureQueriesContext(connection) as with_reviews:
        html = reviewer.get("/").content.decode()
    assert html.count('class="review passed"') == 50
    assert len(with_reviews) == len(without_reviews)


def test_a_review_filter_searches_further_pages_until_it_finds_matches(as_role, emulator):
    far = emulator.conversation_ids()[180]
    review(far, status="flagged")
    response = as_role("Reviewer").get("/", {"review": "flagged"})
    html = response.content.decode()
    assert row_ids(html) == [far]
    assert "Searched 240 conversations" in html
    assert [c.endpoint for c in emulator.calls] == ["list", "list", "list"]


def test_a_review_filter_stops_at_a_full_page(as_role, emulator, settings):
    settings.XUNA_PAGE_SIZE = 10
    html = as_role("Reviewer").get("/", {"review": "unreviewed"}).content.decode()
    assert row_ids(html) == emulator.conversation_ids()[:100]
    assert "Searched 100 conversations" in html
    assert 'id="load-more"' in html


def test_unreviewed_excludes_reviewed_ones(as_role, emulator):
    first, second = emulator.conversation_ids()[:2]
    review(first, status="passed")
    html = as_role("Reviewer").get("/", {"review": "unreviewed"}).content.decode()
    assert first not in row_ids(html)
    assert second in row_ids(html)


def test_assigned_to_me_combines_with_the_agent_filter(as_role, emulator, django_user_model):
    agent_id, _ = emulator.agents[0]
    mine = emulator.conversation_ids(agent_id)[3]
    of_agent = set(emulator.conversation_ids(agent_id))
    other_agent = next(c for c in emulator.conversation_ids() if c not in of_agent)
    reviewer_client = as_role("Reviewer")
    me = django_user_model.objects.get(username="reviewer-user")
    review(mine, assignee=me)
    review(other_agent, assignee=me)
    html = reviewer_client.get("/", {"assigned": "me", "agent": agent_id}).content.decode()
    assert row_ids(html) == [mine]


def test_a_tag_filter_shows_only_tagged_conversations(as_role, emulator):
    tagged = emulator.conversation_ids()[5]
    review(tagged, tags=["refund"])
    html = as_role("Reviewer").get("/", {"tag": "refund"}).content.decode()
    assert row_ids(html) == [tagged]


def test_save_and_next_opens_the_next_unreviewed_conversation_of_the_list(as_role, emulator):
    ids = emulator.conversation_ids()
    review(ids[1], status="passed")
    response = as_role("Reviewer").post(
        f"/conversations/{ids[0]}/review", {"status": "flagged", "next": "1", "list_query": ""}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/conversations/{ids[2]}/"


def test_save_and_next_keeps_the_agent_filter(as_role, emulator):
    agent_id, _ = emulator.agents[1]
    ids = emulator.conversation_ids(agent_id)
    response = as_role("Reviewer").post(
        f"/conversations/{ids[0]}/review",
        {"status": "passed", "next": "1", "list_query": f"agent={agent_id}"},
        headers={"HX-Request": "true"},
    )
    assert response["HX-Redirect"] == f"/conversations/{ids[1]}/?agent={agent_id}"


def test_save_and_next_says_when_nothing_is_left(as_role, emulator):
    agent_id, _ = emulator.agents[2]
    ids = emulator.conversation_ids(agent_id)
    for conversation_id in ids[1:]:
        review(conversation_id, status="passed")
    response = as_role("Reviewer").post(
        f"/conversations/{ids[0]}/review",
        {"status": "passed", "next": "1", "list_query": f"agent={agent_id}"},
        follow=True,
    )
    assert "Nothing left to review in this list." in response.content.decode()


def test_deleting_a_conversation_wipes_every_local_trace_but_the_audit_record(
    as_role, emulator, make_user
):
    conversation_id = emulator.conversation_ids()[0]
    secret_note = "caller read out card 4111 1111 1111 1111"
    make_user("Reviewer", username="rita")
    admin = as_role("Admin")
    admin.post(
        f"/conversations/{conversation_id}/review",
        {"status": "flagged", "tags": "pci", "notes": secret_note, "assignee": "rita"},
    )
    admin.post(f"/conversations/{conversation_id}/delete", {"reason": "card number"})
    assert not Review.objects.filter(conversation_id=conversation_id).exists()
    assert not ReviewChange.objects.filter(conversation_id=conversation_id).exists()
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            columns = [
                c.name for c in connection.introspection.get_table_description(cursor, table)
            ]
            quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
            cursor.execute(f"SELECT {quoted} FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                assert not any(secret_note in str(value) for value in row), table
