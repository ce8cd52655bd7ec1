"""Every page and dialog passes axe-core's checks, for each role, on a desktop and on a phone.

axe-core runs its default rules (WCAG 2 A and AA, and its best practices; its experimental
ones too) in the real Chromium, and any violation fails the test with its rule, impact,
elements and help text (tests/browser/axe.py). Each page (or dialog) and role is a test of
its own, which audits it at a desktop's size and then at a phone's (390 by 844 px); a few
are audited in the system's dark colour scheme as well.
"""

import uuid

import pytest
from django.conf import settings as django_settings
from django.test import Client
from playwright.sync_api import expect

from conversations import calibration, comments, jobs, sampling, scorecards
from conversations.models import AuditRecord, BulkJob
from conversations.models import ScorecardCriterion as Criterion
from conversations.reviews import ReviewFilter
from conversations.scorecards import Answer, CriterionSpec, Definition
from tests.browser.axe import findings
from tests.index_helpers import indexed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROLES = ("Reviewer", "Lead", "Admin")
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


# The workspace each test starts from --------------------------------------------------------


@pytest.fixture(scope="module")
def tabs(browser):
    """One browser context and tab per role (and one logged out), kept for the whole module.
    The database is emptied after each test, so each test gives its tab a new session."""
    opened = {}

    def tab(role):
        if role not in opened:
            context = browser.new_context(viewport=SIZES["desktop"])
            opened[role] = context.new_page()
            opened[role].set_default_timeout(10_000)
        return opened[role]

    yield tab
    for page in opened.values():
        page.context.close()


@pytest.fixture
def workspace(emulator, make_user, quick_password_hashing, settings):
    """Users in each role, and something on every page: a scorecard with a score and
    comments, the conversation index, a sampled queue, a calibration round, a job and audit
    records; and the demo workspace's banner on every page."""
    settings.XUNA_DEMO = True
    people = {role: make_user(role) for role in ROLES}
    agent_id, agent_name = emulator.agents[0]
    ids = emulator.conversation_ids(agent_id)[:6]
    for hours_ago, conversation_id in enumerate(ids, start=1):
        indexed(conversation_id, agent_id=agent_id, agent_name=agent_name, hours_ago=hours_ago)
    version = scorecards.create_scorecard(
        user=people["Lead"],
        definition=Definition(
            name="Support QA",
            criteria=[
                CriterionSpec("Greeting", platform_criterion="polite_and_professional"),
                CriterionSpec("Identity verified", weight=2, auto_fail=True),
                CriterionSpec("Empathy", kind=Criterion.Kind.SCALE),
            ],
            pass_mark=80,
        ),
    )
    scored = ids[0]
    scorecards.save_score(
        conversation_id=scored,
        version=version,
        user=people["Lead"],
        answers={
            "greeting": Answer("pass"),
            "identity-verified": Answer("fail", "No date of birth"),
            "empathy": Answer("4"),
        },
    )
    comments.add_comment(user=people["Lead"], conversation_id=scored, body="Listen to this one")
    comments.add_comment(user=people["Reviewer"], conversation_id=scored, body="Agreed", turn=1)
    queue = sampling.create_queue(
        user=people["Lead"],
        review_filter=ReviewFilter(),
        plan=sampling.Plan(
            name="Week 48",
            rule=sampling.Rule(number=3),
            reviewers=tuple(people.values()),
            scorecard=version.scorecard,
        ),
        seed=1,
    )
    round_ = calibration.create_round(
        user=people["Lead"],
        name="Calibration, week 48",
        version=version,
        reviewers=list(people.values()),
        conversation_ids=ids[1:3],
    )
    # Reviewers who differ on the round's second call: its rows are marked "differ".
    for role, greeting in (("Reviewer", "pass"), ("Lead", "fail")):
        calibration.submit(
            user=people[role],
            calibration=round_,
            conversation_id=ids[2],
            answers={
                "greeting": Answer(greeting),
                "identity-verified": Answer("pass"),
                "empathy": Answer("3"),
            },
        )
    job, _ = jobs.create_job(
        job_id=uuid.uuid4(),
        user=people["Admin"],
        conversation_ids=ids[4:6],
        kind=BulkJob.Kind.DELETE,
        reason="customer asked",
    )
    AuditRecord.objects.create(
        conversation_id=ids[5],
        agent_id=agent_id,
        user=people["Admin"],
        username="admin-user",
        reason="customer asked",
        outcome=AuditRecord.Outcome.DELETED,
        upstream_status=200,
    )
    AuditRecord.objects.create(username="lead-user", outcome="exported", row_count=6)
    return {
        "emulator": emulator,
        "people": people,
        "agent": agent_id,
        "plain": ids[3],
        "scored": scored,
        "calibrated": ids[1],
        "disagreeing": ids[2],
        # A call with what the platform may add: interrupted turns, tool calls, feedback.
        "extras": next(
            cid
            for cid in emulator.conversation_ids()
            if any(turn.get("interrupted") for turn in emulator.raw(cid).get("transcript", []))
        ),
        "queue": queue.pk,
        "round": round_.pk,
        "job": job.pk,
        "scorecard": version.scorecard.pk,
    }


def logged_in(tab, live_server, workspace, role):
    """The role's tab with a session of this test's user (no login form: that costs time and
    is tested elsewhere); the logged-out tab without one."""
    page = tab(role)
    page.context.clear_cookies()
    if role:
        client = Client()
        client.force_login(workspace["people"][role])
        session = client.cookies[django_settings.SESSION_COOKIE_NAME].value
        page.context.add_cookies(
            [
                {
                    "name": django_settings.SESSION_COOKIE_NAME,
                    "value": session,
                    "url": live_server.url,
                }
            ]
        )
    return page


# Each page or dialog: how to reach it, and who may ---------------------------------------------


def modal(page):
    dialog = page.locator("dialog[open]")
    expect(dialog).to_be_visible()
    return dialog


def select_first_row(page):
    page.locator("tbody#rows input[name=ids]").first.check()
    expect(page.locator("#bulk .selected-count")).to_have_text("1 selected")


def list_filters_open(page, url, data):
    page.goto(url("/"))
    page.locator(".more-filters summary").click()
    expect(page.locator(".more-filters fieldset").first).to_be_visible()


def list_selection(page, url, data):
    page.goto(url("/"))
    select_first_row(page)


def list_agent_credential(page, url, data):
    page.goto(url(f"/?agent={data['agent']}"))
    page.get_by_role("button", name="Get signed URL").or_(
        page.get_by_role("link", name="Get signed URL")
    ).click()
    expect(page.locator("#credential")).not_to_be_empty()


def delete_dialog(page, url, data):
    page.goto(url(f"/conversations/{data['plain']}/"))
    page.locator(".conversation-head").get_by_role("link", name="Delete…").click()
    modal(page)


def delete_dialog_from_list(page, url, data):
    page.goto(url("/"))
    page.locator(f"#row-{data['plain']} td.actions a").click()
    modal(page)


def delete_dialog_refused(page, url, data):
    # A reason of spaces is no reason: the dialog says so.
    delete_dialog(page, url, data)
    dialog = modal(page)
    dialog.get_by_label("Reason").fill("   ")
    dialog.get_by_role("button", name="Delete permanently").click()
    expect(modal(page).locator(".error")).to_be_visible()


def comment_editing(page, url, data):
    page.goto(url(f"/conversations/{data['scored']}/"))
    edit = page.locator("#comments details.comment-edit").first
    edit.locator("summary").click()
    expect(edit.locator("textarea")).to_be_visible()


def platform_unavailable(page, url, data):
    data["emulator"].set_fault("get", "503")
    page.goto(url(f"/conversations/{data['plain']}/"))
    expect(page.locator(".error-page")).to_be_visible()


def bulk_delete_dialog(page, url, data):
    page.goto(url("/"))
    select_first_row(page)
    page.locator("#bulk").get_by_role("button", name="Delete…").click()
    modal(page)


def bulk_status_dialog(page, url, data):
    # A status over a whole filter is confirmed with its count first.
    page.goto(url("/?review=unreviewed"))
    page.locator("#bulk [data-select-filter]").check()
    page.locator("#bulk-status").select_option("flagged")
    page.locator("#bulk").get_by_role("button", name="Apply status").click()
    modal(page)


def bulk_confirm_page(page, url, data):
    # The bulk bar without JavaScript posts to a confirmation page. form.submit() sends the
    # form as a browser without JavaScript would: no submit event reaches htmx.
    page.goto(url("/"))
    select_first_row(page)
    page.evaluate(
        """() => {
          const form = document.getElementById("bulk");
          const action = document.createElement("input");
          action.type = "hidden"; action.name = "action"; action.value = "delete";
          form.append(action);
          form.submit();
        }"""
    )
    page.wait_for_url(url("/bulk/"))
    expect(page.locator("main form")).to_be_visible()


def review_saved(page, url, data):
    # The review panel after saving, with its confirmation.
    page.goto(url(f"/conversations/{data['plain']}/"))
    panel = page.locator("#review-panel")
    panel.locator("input[name=status][value=flagged]").check()
    panel.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#review-panel [role=status]")).to_have_text("Saved.")


def goto(path):
    def visit(page, url, data):
        page.goto(url(path.format(**data)))

    return visit


EVERYONE = ROLES
LEADS = ("Lead", "Admin")
ADMIN = ("Admin",)

PAGES = {
    "login": ((None,), goto("/login/")),
    "list": (EVERYONE, goto("/")),
    "list-filters-open": (EVERYONE, list_filters_open),
    "list-selection": (LEADS, list_selection),
    "list-agent-credential": (ADMIN, list_agent_credential),
    "conversation": (EVERYONE, goto("/conversations/{plain}/")),
    "conversation-scored-with-comments": (EVERYONE, goto("/conversations/{scored}/")),
    "conversation-in-calibration": (EVERYONE, goto("/conversations/{calibrated}/")),
    "conversation-calibration-differing": (
        ("Reviewer", "Lead"),
        goto("/conversations/{disagreeing}/"),
    ),
    "conversation-with-platform-extras": (EVERYONE, goto("/conversations/{extras}/")),
    "conversation-review-saved": (EVERYONE, review_saved),
    "conversation-comment-editing": (("Reviewer", "Lead"), comment_editing),
    "conversation-platform-unavailable": (EVERYONE, platform_unavailable),
    "delete-dialog": (ADMIN, delete_dialog),
    "delete-dialog-from-list": (ADMIN, delete_dialog_from_list),
    "delete-dialog-refused": (ADMIN, delete_dialog_refused),
    "delete-page": (ADMIN, goto("/conversations/{plain}/delete")),
    "bulk-delete-dialog": (ADMIN, bulk_delete_dialog),
    "bulk-status-dialog": (LEADS, bulk_status_dialog),
    "bulk-confirm-page": (ADMIN, bulk_confirm_page),
    "jobs": (LEADS, goto("/jobs/")),
    "job": (LEADS, goto("/jobs/{job}/")),
    "audit": (LEADS, goto("/audit/")),
    "analytics": (LEADS, goto("/analytics/")),
    "scorecards": (LEADS, goto("/scorecards/")),
    "scorecard-new": (LEADS, goto("/scorecards/new")),
    "scorecard-edit": (LEADS, goto("/scorecards/{scorecard}/edit")),
    "queues": (EVERYONE, goto("/queues/")),
    "queue-new": (LEADS, goto("/queues/new")),
    "queue": (EVERYONE, goto("/queues/{queue}/")),
    "calibrations": (EVERYONE, goto("/calibration/")),
    "calibration-new": (LEADS, goto("/calibration/new")),
    "calibration": (EVERYONE, goto("/calibration/{round}/")),
    "not-found": (EVERYONE, goto("/no-such-page/")),
    "conversation-not-found": (EVERYONE, goto("/conversations/conv_no_such_call/")),
    "forbidden-delete": (("Reviewer",), goto("/conversations/{plain}/delete")),
    "team": (ADMIN, goto("/team/")),
}

# The pages seen with the system's dark colour scheme as well.
DARK = (
    "login",
    "list-selection",
    "conversation-scored-with-comments",
    "conversation-calibration-differing",
    "conversation-with-platform-extras",
    "delete-dialog",
    "analytics",
)


def cases():
    for name, (roles, _) in PAGES.items():
        for role in roles:
            yield pytest.param(name, role, "light", id=f"{name}-{role or 'anonymous'}")
    for name in DARK:
        role = PAGES[name][0][-1]
        yield pytest.param(name, role, "dark", id=f"{name}-{role or 'anonymous'}-dark")


@pytest.mark.parametrize(("name", "role", "scheme"), list(cases()))
def test_the_page_has_no_accessibility_violations_on_a_desktop_or_a_phone(
    tabs, live_server, workspace, name, role, scheme
):
    page = logged_in(tabs, live_server, workspace, role)
    page.set_viewport_size(SIZES["desktop"])
    page.emulate_media(color_scheme=scheme)
    _, visit = PAGES[name]
    visit(page, lambda path: f"{live_server.url}{path}", workspace)
    # The same page (and open dialog) then at a phone's size: the layout changes, not the state.
    found = []
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        found.append(findings(page, f"{name} as {role or 'nobody'} ({size}, {scheme})"))
    assert not any(found), "\n\n".join(filter(None, found))
