"""The review workflow: status, assignee, tags, history, filters, save and next."""

import re
from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from conversations import reviews
from conversations.models import AuditRecord, Comment, Review, ReviewChange, Tag
from tests.helpers import row_ids

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def review(conversation_id, **fields):
    return Review.objects.create(conversation_id=conversation_id, **fields)


def test_the_review_panel_saves_status_and_tags_and_records_each_change(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    response = as_role("Reviewer").post(
        f"/conversations/{conversation_id}/review",
        {"status": "flagged", "tags": "billing, refund,billing"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert 'id="review-panel"' in response.content.decode()
    saved = Review.objects.get(conversation_id=conversation_id)
    assert (saved.status, saved.tags) == ("flagged", ["billing", "refund"])
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
    assert f'<td id="assignee-{conversation_id}" data-label="Assignee">rita</td>' in html


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


def next_from_flagged(emulator, reviewer, current):
    """Where "Save and next" goes from the `current`-th conversation of a Flagged list of the
    first and the fourth (the index is empty: the platform's pages are searched)."""
    ids = emulator.conversation_ids()
    for conversation_id in (ids[0], ids[3]):
        review(conversation_id, status="flagged")
    response = reviewer.post(
        f"/conversations/{ids[current]}/review",
        {"status": "passed", "next": "1", "list_query": "review=flagged"},
    )
    return response["Location"]


def test_save_and_next_from_the_flagged_list_stays_in_it_without_the_index(as_role, emulator):
    fourth = emulator.conversation_ids()[3]
    location = next_from_flagged(emulator, as_role("Reviewer"), 0)
    assert location == f"/conversations/{fourth}/?review=flagged"


def test_save_and_next_at_the_end_of_the_flagged_list_does_not_start_over(as_role, emulator):
    assert next_from_flagged(emulator, as_role("Reviewer"), 3) == "/?review=flagged"


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


def test_save_and_next_skips_a_conversation_deleted_through_the_dashboard(as_role, emulator):
    ids = emulator.conversation_ids()
    AuditRecord.objects.create(conversation_id=ids[1], outcome="deleted", username="x")
    response = as_role("Reviewer").post(
        f"/conversations/{ids[0]}/review", {"status": "flagged", "next": "1", "list_query": ""}
    )
    assert response["Location"] == f"/conversations/{ids[2]}/"


def test_save_and_next_searches_no_further_than_the_scan_limit(as_role, emulator, monkeypatch):
    monkeypatch.setattr(reviews, "MAX_SCAN", 100)
    ids = emulator.conversation_ids()
    for conversation_id in ids[1:100]:
        review(conversation_id, status="passed")
    response = as_role("Reviewer").post(
        f"/conversations/{ids[0]}/review", {"status": "passed", "next": "1", "list_query": ""}
    )
    assert response["Location"].startswith("/?")
    assert [c.endpoint for c in emulator.calls].count("list") == 1


def test_the_list_hides_a_conversation_deleted_through_the_dashboard(as_role, emulator):
    ids = emulator.conversation_ids()
    AuditRecord.objects.create(conversation_id=ids[0], outcome="deleted", username="x")
    html = as_role("Reviewer").get("/").content.decode()
    assert ids[0] not in row_ids(html)
    assert ids[1] in row_ids(html)


def test_a_review_save_with_a_bad_agent_in_its_list_link_saves_and_drops_the_filter(
    as_role, emulator
):
    conversation_id = emulator.conversation_ids()[0]
    response = as_role("Reviewer").post(
        f"/conversations/{conversation_id}/review",
        {"status": "passed", "list_query": "agent=a/b&review=flagged"},
    )
    assert response["Location"] == f"/conversations/{conversation_id}/?review=flagged"
    assert Review.objects.get().status == "passed"


def test_deleting_a_conversation_wipes_every_local_trace_but_the_audit_record(
    as_role, emulator, make_user
):
    conversation_id = emulator.conversation_ids()[0]
    secret_note = "caller read out card 4111 1111 1111 1111"
    make_user("Reviewer", username="rita")
    admin = as_role("Admin")
    admin.post(
        f"/conversations/{conversation_id}/review",
        {"status": "flagged", "tags": "pci", "assignee": "rita"},
    )
    admin.post(f"/conversations/{conversation_id}/comments", {"body": secret_note, "turn": "0"})
    assert Comment.objects.get().body == secret_note
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


class PanelForm(HTMLParser):
    """The review panel's form as a browser sends it: its inputs, the checked status, the
    selected assignee and any text area, each as rendered."""

    def __init__(self, html):
        super().__init__()
        self.data, self.inside, self.select, self.textarea = {}, False, None, None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and "data-review-form" in attrs:
            self.inside = True
        if not self.inside:
            return
        if tag == "input" and (attrs.get("type") != "radio" or "checked" in attrs):
            self.data[attrs["name"]] = attrs.get("value", "")
        elif tag == "select":
            self.select = attrs["name"]
        elif tag == "option" and self.select:
            if self.select not in self.data or "selected" in attrs:
                self.data[self.select] = attrs["value"]
        elif tag == "textarea":
            self.textarea = attrs["name"]
            self.data[self.textarea] = ""

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = None
        elif tag == "textarea" and self.textarea:
            # A browser drops the newline that follows <textarea>.
            self.data[self.textarea] = self.data[self.textarea].removeprefix("\n")
            self.textarea = None

    def handle_data(self, data):
        if self.textarea:
            self.data[self.textarea] += data


def panel(client, conversation_id):
    """The review form of the conversation page, as this person's browser would send it."""
    return PanelForm(client.get(f"/conversations/{conversation_id}/").content.decode()).data


def both_open(make_user, conversation_id):
    """Ann and Bob, reviewers, each with the conversation page open: (client, form) pairs."""
    people = [signed_in(make_user, "Reviewer", name) for name in ("ann", "bob")]
    return [(person, panel(person, conversation_id)) for person in people]


def signed_in(make_user, role, username):
    client = Client()
    client.force_login(make_user(role, username=username))
    return client


def test_a_save_changes_only_the_fields_the_person_changed(make_user, emulator):
    conversation_id = emulator.conversation_ids()[0]
    make_user("Reviewer", username="rita")
    ann = signed_in(make_user, "Reviewer", "ann")
    lee = signed_in(make_user, "Lead", "lee")
    url = f"/conversations/{conversation_id}/review"
    ann_form, lee_form = panel(ann, conversation_id), panel(lee, conversation_id)
    ann_form.update(status="flagged", tags="refund")
    ann.post(url, ann_form, headers=HTMX)
    response = lee.post(url, {**lee_form, "assignee": "rita"}, headers=HTMX)
    assert "Saved." in response.content.decode()
    saved = Review.objects.get(conversation_id=conversation_id)
    assert (saved.status, saved.tags, saved.assignee.username) == ("flagged", ["refund"], "rita")
    assert list(ReviewChange.objects.filter(username="lee").values_list("field", flat=True)) == [
        "assignee"
    ]


def test_a_save_based_on_a_stale_value_is_refused_showing_both_values(make_user, emulator):
    conversation_id = emulator.conversation_ids()[0]
    url = f"/conversations/{conversation_id}/review"
    (ann, ann_form), (bob, bob_form) = both_open(make_user, conversation_id)
    ann.post(url, {**ann_form, "tags": "abusive caller"}, headers=HTMX)
    response = bob.post(url, {**bob_form, "tags": "refund promised"}, headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 409
    assert "someone else changed this review" in html
    conflict = re.sub(r"\s+", " ", html[html.index('class="conflicts"') :])
    assert "<dt>Tags</dt>" in conflict
    assert 'Yours: <span class="value">refund promised</span>' in conflict
    assert 'Current: <span class="value">abusive caller</span>' in conflict
    assert PanelForm(html).data["tags"] == "refund promised"
    assert Review.objects.get().tags == ["abusive caller"]
    assert not ReviewChange.objects.filter(username="bob").exists()


def test_without_javascript_a_conflict_shows_the_conversation_page_with_both_values(
    make_user, emulator
):
    conversation_id = emulator.conversation_ids()[0]
    url = f"/conversations/{conversation_id}/review"
    (ann, ann_form), (bob, bob_form) = both_open(make_user, conversation_id)
    ann.post(url, {**ann_form, "status": "passed"})
    response = bob.post(url, {**bob_form, "status": "flagged"})
    html = response.content.decode()
    assert response.status_code == 409
    assert f'<span class="mono" id="conversation-id">{conversation_id}</span>' in html
    assert 'Yours: <span class="value">Flagged</span>' in html
    assert 'Current: <span class="value">Passed</span>' in html
    assert PanelForm(html).data["status"] == "flagged"
    assert Review.objects.get().status == "passed"


def test_saving_again_after_a_conflict_replaces_the_current_value(make_user, emulator):
    conversation_id = emulator.conversation_ids()[0]
    url = f"/conversations/{conversation_id}/review"
    (ann, ann_form), (bob, bob_form) = both_open(make_user, conversation_id)
    ann.post(url, {**ann_form, "tags": "billing"}, headers=HTMX)
    refused = bob.post(url, {**bob_form, "tags": "refund"}, headers=HTMX)
    response = bob.post(url, PanelForm(refused.content.decode()).data, headers=HTMX)
    assert response.status_code == 200
    assert "Saved." in response.content.decode()
    assert Review.objects.get().tags == ["refund"]


def test_sending_the_same_change_twice_is_not_a_conflict(make_user, emulator):
    conversation_id = emulator.conversation_ids()[0]
    ann = signed_in(make_user, "Reviewer", "ann")
    form = {**panel(ann, conversation_id), "status": "flagged", "tags": "refund,  billing"}
    for _ in range(2):
        response = ann.post(f"/conversations/{conversation_id}/review", form, headers=HTMX)
        assert response.status_code == 200
    assert Review.objects.get().tags == ["refund", "billing"]
    assert ReviewChange.objects.count() == 2


def test_a_lead_cannot_assign_someone_without_a_review_role(as_role, emulator, make_user):
    make_user(None, username="outsider")
    conversation_id = emulator.conversation_ids()[0]
    response = as_role("Lead").post(
        f"/conversations/{conversation_id}/review", {"assignee": "outsider"}, headers=HTMX
    )
    assert response.status_code == 400
    assert "Only people with a review role can be assigned." in response.content.decode()
    assert not Review.objects.exists()


def test_a_user_given_the_review_permission_directly_can_be_assigned(as_role, emulator, make_user):
    direct = make_user(None, username="direct")
    direct.user_permissions.add(Permission.objects.get(codename="review_conversation"))
    make_user(None, username="outsider")
    conversation_id = emulator.conversation_ids()[0]
    html = as_role("Lead").get(f"/conversations/{conversation_id}/").content.decode()
    assert '<option value="direct">direct</option>' in html
    assert "outsider" not in html


def test_someone_assigned_before_losing_the_review_role_stays_assigned_while_others_edit(
    make_user, emulator
):
    conversation_id = emulator.conversation_ids()[0]
    rita = make_user("Reviewer", username="rita")
    review(conversation_id, assignee=rita)
    rita.groups.clear()
    lee = signed_in(make_user, "Lead", "lee")
    form = panel(lee, conversation_id)
    assert form["assignee"] == "rita"
    response = lee.post(
        f"/conversations/{conversation_id}/review", {**form, "tags": "checked"}, headers=HTMX
    )
    assert "Saved." in response.content.decode()
    saved = Review.objects.get()
    assert (saved.assignee, saved.tags) == (rita, ["checked"])


def test_a_review_of_a_deleted_conversation_is_refused_and_writes_nothing(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    AuditRecord.objects.create(conversation_id=conversation_id, outcome="deleted", username="x")
    response = as_role("Reviewer").post(
        f"/conversations/{conversation_id}/review",
        {"status": "flagged", "tags": "pci"},
        headers=HTMX,
    )
    assert response.status_code == 410
    assert "This conversation was deleted; nothing was saved." in response.content.decode()
    assert not Review.objects.exists()
    assert not ReviewChange.objects.exists()


def test_without_javascript_a_review_of_a_deleted_conversation_says_nothing_was_saved(
    as_role, emulator
):
    conversation_id = emulator.conversation_ids()[0]
    AuditRecord.objects.create(conversation_id=conversation_id, outcome="deleted", username="x")
    response = as_role("Reviewer").post(
        f"/conversations/{conversation_id}/review", {"status": "flagged"}
    )
    assert response.status_code == 410
    assert "This conversation was deleted; nothing was saved." in response.content.decode()
    assert not Review.objects.exists()


def test_saving_a_review_refuses_a_deleted_conversation_whose_row_was_left(make_user, emulator):
    conversation_id = emulator.conversation_ids()[0]
    review(conversation_id, tags=["left behind"])
    AuditRecord.objects.create(conversation_id=conversation_id, outcome="deleted", username="x")
    with pytest.raises(reviews.ConversationGone):
        reviews.save_review(
            conversation_id=conversation_id, user=make_user("Reviewer"), tags=["written again"]
        )
    assert Review.objects.get().tags == ["left behind"]
    assert not ReviewChange.objects.exists()


def test_a_review_of_a_conversation_the_platform_does_not_know_is_refused(as_role, emulator):
    response = as_role("Reviewer").post(
        "/conversations/conv_never_existed/review", {"status": "passed"}, headers=HTMX
    )
    assert response.status_code == 404
    assert "The platform has no such conversation; nothing was saved." in (
        response.content.decode()
    )
    assert not Review.objects.exists()


def test_a_conversation_with_a_review_is_not_looked_up_on_the_platform_again(as_role, emulator):
    conversation_id = emulator.conversation_ids()[0]
    review(conversation_id, status="flagged")
    as_role("Reviewer").post(f"/conversations/{conversation_id}/review", {"status": "passed"})
    assert Review.objects.get().status == "passed"
    assert emulator.calls == []


def test_a_review_of_a_conversation_whose_deletion_outcome_is_unknown_writes_nothing(
    as_role, emulator
):
    conversation_id = emulator.conversation_ids()[0]
    AuditRecord.objects.create(
        conversation_id=conversation_id, username="ann", reason="x", outcome="attempted"
    )
    response = as_role("Reviewer").post(
        f"/conversations/{conversation_id}/review", {"status": "passed", "tags": "card 4111"}
    )
    assert response.status_code in (404, 410)
    assert not Review.objects.filter(conversation_id=conversation_id).exists()
