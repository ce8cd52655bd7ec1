"""Phones and narrow windows (390 by 844 px) in a real browser: no page scrolls sideways, the list
and the audit log read as cards, Log out and the delete dialog stay on screen; the same
no-overflow check on the desktop, the delete column lined up, names kept whole, the dark theme.
"""

import io
import re
import uuid
from pprint import pformat

import pytest
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import expect

from conversations import jobs, sampling, sync
from conversations.models import (
    AuditRecord,
    BulkJob,
    CalibrationRound,
    Scorecard,
)
from conversations.reviews import ReviewFilter
from tests.browser.axe import describe, violations
from tests.helpers import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
# A tablet (the list's rows are cards up to 960 px) and a small laptop (a table again).
NARROW = {"width": 700, "height": 900}
LAPTOP = {"width": 1000, "height": 800}
DESKTOP = {"width": 1280, "height": 900}

# Every visible element whose box leaves the viewport's width, described for the failure
# message. What sits inside a box that scrolls or clips on its own (a wide table in a
# `.table-scroll`) moves that box, not the page; the skip link and visually hidden text are
# off screen on purpose.
STICKING_OUT = """(width) => {
    const out = [];
    const describe = (e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
        + (typeof e.className === "string" && e.className ? "." + e.className.trim() : "")
        + " «" + (e.textContent || "").trim().slice(0, 40) + "»";
    const clipped = (e) => {
        for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
            const style = getComputedStyle(p);
            if (style.overflowX !== "visible" || style.clip !== "auto") return true;
        }
        return false;
    };
    if (document.documentElement.scrollWidth > width) {
        out.push("the page: " + document.documentElement.scrollWidth + " px wide");
    }
    for (const e of document.body.querySelectorAll("*")) {
        if (e.matches(".skip, .visually-hidden, option, datalist, script")) continue;
        const box = e.getBoundingClientRect();
        if (box.width === 0 && box.height === 0) continue;
        if ((box.right > width + 0.5 || box.left < -0.5) && !clipped(e)) {
            out.push(describe(e) + ": " + Math.round(box.left) + " to " + Math.round(box.right));
        }
    }
    return out.slice(0, 15);
}"""


@pytest.fixture
def workspace(emulator, make_user):
    """The demo's week: the index filled, a scorecard, scores and calibration rounds, an
    administrator called "admin" (as `make run` creates one) and an audit record of theirs."""
    admin = make_user("Admin", username="admin")
    admin.is_superuser = admin.is_staff = True
    admin.save()
    sync.backfill(pages=100)
    call_command("seed_demo", stdout=io.StringIO())
    first = emulator.conversation_ids()[0]
    AuditRecord.objects.create(
        conversation_id=first,
        agent_id=emulator.agents[0][0],
        user=admin,
        username="admin",
        outcome=AuditRecord.Outcome.DENIED,
        reason="a reason long enough to wrap on a phone, as reasons are",
    )
    # A call with a recording whose evaluation names a criterion with underscores.
    call = next(
        cid
        for cid in emulator.conversation_ids()
        if emulator.raw(cid).get("audio") and "polite_and_professional" in str(emulator.raw(cid))
    )
    job, _ = jobs.create_job(
        job_id=uuid.uuid4(),
        user=admin,
        conversation_ids=emulator.conversation_ids()[-2:],
        kind=BulkJob.Kind.DELETE,
        reason="a reason long enough to wrap on a phone, as reasons are",
    )
    queue = sampling.create_queue(
        user=admin,
        review_filter=ReviewFilter(),
        plan=sampling.Plan(
            name="A sample with a name long enough to wrap on a phone",
            rule=sampling.Rule(number=3),
            reviewers=(admin,),
            scorecard=Scorecard.objects.order_by("pk").first(),
        ),
        seed=1,
    )
    return {"admin": admin, "call": call, "job": job.pk, "queue": queue.pk}


@pytest.fixture
def open_page(browser, live_server):
    """A browser window of the given size, logged in as the given user."""
    contexts = []

    def open_as(user, viewport, **options):
        phone = viewport["width"] < 500
        contexts.append(
            browser.new_context(
                viewport=viewport,
                device_scale_factor=2 if phone else 1,
                is_mobile=phone,
                has_touch=phone,
                **options,
            )
        )
        page = contexts[-1].new_page()
        page.set_default_timeout(10_000)
        log_in(page, live_server.url, user.username)
        return page

    yield open_as
    for context in contexts:
        context.close()


def pages_of(workspace):
    return {
        "list": "/",
        "call": f"/conversations/{workspace['call']}/",
        "audit": "/audit/",
        "jobs": "/jobs/",
        "analytics": "/analytics/?range=30d",
        "scorecards": "/scorecards/",
        "queues": "/queues/",
        "calibration": "/calibration/",
    } | more_pages_of(workspace)


def more_pages_of(workspace):
    """The pages of one thing, and the forms, as the demo's week has them."""
    scorecard = Scorecard.objects.order_by("pk").first()
    round_ = CalibrationRound.objects.order_by("pk").first()
    return {
        "team": reverse("conversations:team"),
        "job": f"/jobs/{workspace['job']}/",
        "scorecard-new": "/scorecards/new",
        "scorecard-edit": f"/scorecards/{scorecard.pk}/edit",
        "calibration-round": f"/calibration/{round_.pk}/",
        "calibration-new": "/calibration/new",
        "queue": f"/queues/{workspace['queue']}/",
        "queue-new": "/queues/new",
        "delete": f"/conversations/{workspace['call']}/delete",
        "not-found": "/conversations/conv_no_such_call/",
    }


@pytest.mark.parametrize(
    "viewport", [PHONE, NARROW, LAPTOP, DESKTOP], ids=["phone", "tablet", "laptop", "desktop"]
)
def test_no_page_is_wider_than_the_window(workspace, open_page, live_server, screenshot, viewport):
    page = open_page(workspace["admin"], viewport)
    size = {390: "phone", 700: "tablet", 1000: "laptop"}.get(viewport["width"], "desktop")
    found = {}
    for name, path in pages_of(workspace).items():
        page.goto(f"{live_server.url}{path}")
        # The README's phone view of a call is this page's.
        readme = (size, name) == ("phone", "call")
        screenshot(page, "phone-call" if readme else f"{size}-page-{name}")
        sticking_out = page.evaluate(STICKING_OUT, viewport["width"])
        # A phone's browser widens its window to show a page that is too wide.
        if page.evaluate("window.innerWidth") != viewport["width"]:
            sticking_out.append(f"the window: {page.evaluate('window.innerWidth')} px wide")
        if sticking_out:
            found[name] = sticking_out
    assert not found, pformat(found, width=100)


def test_on_a_phone_the_list_rows_are_cards_each_value_named_by_its_column(
    workspace, open_page, screenshot
):
    page = open_page(workspace["admin"], PHONE)
    row = page.locator("tbody#rows tr[id^=row-]").first
    expect(row).to_be_visible()
    # The README's phone view of the list: its bulk bar and first cards.
    page.locator("#bulk").evaluate("bar => bar.scrollIntoView()")
    screenshot(page, "phone-list")
    assert row.evaluate("r => getComputedStyle(r).display") != "table-row"
    headers = page.locator("table.conversations thead th").all_inner_texts()
    labels = row.locator("td[data-label]").evaluate_all(
        "cells => cells.map(c => getComputedStyle(c, '::before').content)"
    )
    assert labels[:4] == ['"Started"', '"Agent"', '"Duration"', '"Status"']
    assert {label.strip('"').casefold() for label in labels} <= {h.casefold() for h in headers}
    # The start time reads on one line, not one letter a line.
    time = row.locator("time")
    assert time.evaluate("t => t.getClientRects().length") == 1
    assert time.bounding_box()["width"] > 100


def test_on_a_phone_the_audit_log_rows_are_cards_and_names_stay_whole(
    workspace, open_page, live_server
):
    page = open_page(workspace["admin"], PHONE)
    page.goto(f"{live_server.url}/audit/")
    row = page.locator("table.audit tbody tr").first
    assert row.evaluate("r => getComputedStyle(r).display") != "table-row"
    who = row.locator("td[data-label=Who]")
    expect(who).to_have_text("admin")
    assert who.evaluate("c => getComputedStyle(c, '::before').content") == '"Who"'
    assert one_line(who)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_audit_log_never_breaks_a_name_inside_a_word(
    workspace, open_page, live_server, viewport
):
    page = open_page(workspace["admin"], viewport)
    page.goto(f"{live_server.url}/audit/")
    assert one_line(page.locator("table.audit tbody td", has_text=re.compile("^admin$")).first)
    headers = page.locator("table.audit thead th")
    for index in range(headers.count()):
        assert no_word_broken(headers.nth(index))


def test_criterion_names_are_not_broken_inside_a_word(workspace, open_page, live_server):
    page = open_page(workspace["admin"], DESKTOP)
    page.goto(f"{live_server.url}/conversations/{workspace['call']}/")
    names = page.get_by_text(re.compile(r"^polite_and_professional$"))
    expect(names.first).to_be_visible()
    for index in range(names.count()):
        assert no_word_broken(names.nth(index))


def test_on_a_phone_log_out_is_on_screen_and_logs_out(workspace, open_page, live_server):
    page = open_page(workspace["admin"], PHONE)
    log_out = page.get_by_role("button", name="Log out")
    expect(log_out).to_be_in_viewport(ratio=1)
    box = log_out.bounding_box()
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= PHONE["width"]
    log_out.click()
    page.wait_for_url(re.compile(r"/login/"))


def test_on_a_phone_the_delete_dialog_is_centred_and_fits(workspace, open_page, screenshot):
    page = open_page(workspace["admin"], PHONE)
    page.locator("tbody#rows tr[id^=row-]").first.get_by_role("link", name="Delete").click()
    dialog = page.locator("dialog#delete-dialog")
    expect(dialog).to_be_visible()
    screenshot(page, "phone-delete-dialog")
    box = dialog.bounding_box()
    assert box["x"] >= 0
    assert box["y"] >= 0
    assert box["x"] + box["width"] <= PHONE["width"]
    assert box["y"] + box["height"] <= PHONE["height"]
    left, right = box["x"], PHONE["width"] - box["x"] - box["width"]
    assert abs(left - right) <= 1
    expect(dialog.get_by_role("button", name="Delete permanently")).to_be_in_viewport(ratio=1)


def test_the_delete_column_lines_up_with_its_rows(workspace, open_page):
    page = open_page(workspace["admin"], DESKTOP)
    offsets = page.locator("tbody#rows tr[id^=row-]").evaluate_all(
        """rows => rows.map(row => {
            const cell = row.querySelector("td.actions").getBoundingClientRect();
            const first = row.cells[1].getBoundingClientRect();
            const box = row.getBoundingClientRect();
            return [cell.top - box.top, box.bottom - cell.bottom, cell.top - first.top];
        })"""
    )
    assert offsets
    assert all(max(map(abs, each)) < 1 for each in offsets), offsets


def test_the_dark_theme_follows_the_system_and_keeps_its_contrast(
    workspace, open_page, live_server, screenshot
):
    page = open_page(workspace["admin"], DESKTOP, color_scheme="dark")
    for name, path in pages_of(workspace).items():
        page.goto(f"{live_server.url}{path}")
        screenshot(page, f"dark-{name}")
        background = page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
        assert luminance(background) < 0.05, background
        assert luminance(page.evaluate("getComputedStyle(document.documentElement).color")) > 0.5
        # axe-core's colour contrast rule (WCAG AA) on the dark page.
        contrast = [found for found in violations(page) if found["id"] == "color-contrast"]
        assert not contrast, f"{name}: {describe(contrast)}"
    page.emulate_media(color_scheme="light")
    assert (
        luminance(page.evaluate("getComputedStyle(document.documentElement).backgroundColor")) > 0.9
    )


def one_line(locator):
    """Whether an element's text renders on one line."""
    return locator.evaluate(
        """e => { const range = document.createRange(); range.selectNodeContents(e);
            const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
            return tops.size === 1; }"""
    )


def no_word_broken(locator):
    """Whether each word of an element's text renders on one line (words may wrap apart)."""
    return locator.evaluate(
        """e => {
            const walker = document.createTreeWalker(e, NodeFilter.SHOW_TEXT);
            for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                for (const match of node.data.matchAll(/\\S+/g)) {
                    const range = document.createRange();
                    range.setStart(node, match.index);
                    range.setEnd(node, match.index + match[0].length);
                    const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
                    if (tops.size > 1) return false;
                }
            }
            return true;
        }"""
    )


def luminance(css_colour):
    """The relative luminance (WCAG) of an rgb()/rgba() colour."""
    red, green, blue = (int(part) / 255 for part in re.findall(r"[\d.]+", css_colour)[:3])

    def linear(channel):
        return channel / 12.92 if channel <= 0.03928 else ((channel + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)
