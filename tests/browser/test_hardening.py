"""In a real Chromium with the Content Security Policy enforced: no page breaks the policy,
nothing of a conversation stays in the browser's storage, and hostile content keeps the layout.
"""

import contextlib
import re
import time

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from tests.helpers import PASSWORD, first_with_audio
from tests.security import hostile

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class Watch:
    """What the browser reports while pages load: policy violations, script errors, alerts."""

    def __init__(self, page):
        self.violations, self.errors, self.dialogs = [], [], []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("dialog", self._dialog)

    def _console(self, message):
        if "Content Security Policy" in message.text:
            self.violations.append(f"{message.page.url if message.page else ''}: {message.text}")

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()


def settle(page):
    """Wait until htmx has no request in flight (htmx marks the elements that wait)."""
    deadline = time.monotonic() + 10
    while page.evaluate("() => document.querySelectorAll('.htmx-request').length > 0"):
        assert time.monotonic() < deadline, "htmx did not settle"
        time.sleep(0.05)


def test_no_page_an_admin_uses_breaks_the_policy(page, login, live_server, emulator, settings):
    settings.XUNA_PAGE_SIZE = 10
    watch = Watch(page)
    url = live_server.url
    page.goto(f"{url}/login/")
    login("Admin")
    conversation_id = first_with_audio(emulator)
    agent_id = emulator.agents[0][0]

    # The list: load more, the agent panel and its credentials, a delete dialog.
    expect(page.locator("tbody#rows tr[id^=row-]")).to_have_count(10)
    page.get_by_role("link", name="Load more").click()
    expect(page.locator("tbody#rows tr[id^=row-]")).to_have_count(20)
    page.goto(f"{url}/?agent={agent_id}")
    page.get_by_role("link", name="Get signed URL").click()
    expect(page.locator("#credential input")).to_have_value(re.compile("^wss://"))
    page.get_by_role("link", name="Get token").click()
    settle(page)
    page.locator("tbody#rows tr[id^=row-]").first.get_by_role("link", name="Delete").click()
    expect(page.locator("dialog#delete-dialog")).to_be_visible()
    page.keyboard.press("Escape")
    page.locator("tbody#rows input[name=ids]").first.check()
    page.locator("#bulk-status").select_option("flagged")
    page.get_by_role("button", name="Apply status").click()
    settle(page)

    # A conversation: play, seek, review, the delete dialog, the page without JavaScript.
    page.goto(f"{url}/conversations/{conversation_id}/")
    page.locator("#player").evaluate("audio => audio.play()")
    page.locator("[data-seek]").last.click()
    if page.locator("#review-panel").count():
        page.locator("#review-panel input[name=status]").nth(1).check()
        page.locator("#review-panel button[type=submit]").first.click()
        settle(page)
    page.get_by_role("link", name="Delete…").click()
    expect(page.locator("dialog")).to_be_visible()
    page.keyboard.press("Escape")
    for path in (
        f"/conversations/{conversation_id}/delete",
        "/audit/",
        "/audit/?outcome=deleted&since=2020-01-01",
        "/no/such/page",
        "/conversations/a%3Fb/",
    ):
        page.goto(f"{url}{path}")

    # The platform failing, on a page and in a fragment.
    emulator.set_fault("get", "503")
    page.goto(f"{url}/conversations/{emulator.conversation_ids()[-1]}/")
    expect(page.locator("h1")).to_contain_text("unavailable")
    emulator.set_fault("list", "429")
    page.goto(f"{url}/?agent={agent_id}&review=")
    emulator.clear_faults()

    assert watch.violations == []
    assert watch.errors == []
    assert watch.dialogs == []

    # The watch sees a violation when there is one: an image from another host is refused.
    page.evaluate(
        "() => { const i = new Image(); i.src = 'https://evil.example/x.png';"
        " document.body.append(i); }"
    )
    deadline = time.monotonic() + 5
    while not watch.violations and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert watch.violations


def test_the_admin_site_and_the_error_pages_keep_the_policy(
    page, live_server, emulator, django_user_model, make_user
):
    watch = Watch(page)
    make_user("Reviewer")  # the roles exist again after a transactional test's flush
    django_user_model.objects.create_superuser("root", password=PASSWORD)
    url = live_server.url
    page.goto(f"{url}/admin/login/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{url}/admin/")
    user_id = django_user_model.objects.get(username="root").pk
    for path in (
        "/admin/",
        "/admin/auth/user/",
        f"/admin/auth/user/{user_id}/change/",
        "/admin/auth/group/",
        "/admin/conversations/auditrecord/",
        "/admin/password_change/",
        "/audit/",
        "/",
    ):
        page.goto(f"{url}{path}")
    assert watch.violations == []
    assert watch.errors == []


def test_the_login_and_lockout_pages_keep_the_policy(page, live_server, emulator):
    watch = Watch(page)
    page.goto(f"{live_server.url}/login/?next=/audit/")
    for _ in range(5):
        page.get_by_label("Username").fill("ghost")
        page.get_by_label("Password").fill("wrong")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state()
        if page.get_by_role("heading", name="Too many failed logins").count():
            break
        page.goto(f"{live_server.url}/login/")
    expect(page.get_by_role("heading", name="Too many failed logins")).to_be_visible()
    assert watch.violations == []
    assert watch.errors == []


def test_nothing_of_a_conversation_stays_in_the_browsers_storage(
    login, live_server, emulator, settings
):
    settings.XUNA_PAGE_SIZE = 10
    page = login("Reviewer")
    page.get_by_role("link", name="Load more").click()
    expect(page.locator("tbody#rows tr[id^=row-]")).to_have_count(20)
    conversation_id = emulator.conversation_ids()[0]
    page.goto(f"{live_server.url}/conversations/{conversation_id}/")
    expect(page.locator(".turn").first).to_be_visible()
    page.go_back()
    page.go_forward()
    page.go_back()
    stored = page.evaluate(
        "() => [localStorage, sessionStorage].flatMap("
        "store => Object.keys(store).map(key => key + '=' + store.getItem(key)))"
    )
    assert [item for item in stored if "conv_" in item or "htmx-history" in item] == []


def test_hostile_content_is_inert_and_the_page_keeps_its_layout(login, live_server, emulator):
    hostile_id, twin_id = hostile.add_pair(emulator)
    page = login("Reviewer")
    watch = Watch(page)
    page.goto(f"{live_server.url}/conversations/{hostile_id}/")
    expect(page.locator(".turn").first).to_be_visible()

    assert watch.dialogs == []
    assert watch.violations == []
    assert watch.errors == []
    assert (
        page.evaluate("() => document.querySelectorAll('img, svg, script:not([src])').length") == 0
    )
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], "a long word widened the page"
    transcript = page.locator("section.transcript").bounding_box()
    side = page.locator("aside.side").bounding_box()
    assert transcript["x"] + transcript["width"] <= side["x"] + 1, "the panels overlap"
    # A right-to-left override in a speaker's name must not reorder the rest of the line.
    for turn in page.locator(".turn").all():
        speaker = turn.locator(".speaker").bounding_box()
        seek = turn.locator("[data-seek]").bounding_box()
        assert speaker["x"] < seek["x"], turn.inner_text()[:60]
    count = page.locator(".turn").count()
    page.goto(f"{live_server.url}/conversations/{twin_id}/")
    assert page.locator(".turn").count() == count


def test_a_hostile_recording_runs_no_script_whether_opened_or_loaded_as_one(
    login, live_server, emulator
):
    # The platform serves a recording as a page that loads a second recording as its script
    # (a browser reads "audio/wav, text/html" as text/html); the site's policy would allow
    # that script, since it comes from our own origin.
    conversation_id = first_with_audio(emulator)
    audio = f"{live_server.url}/conversations/{conversation_id}/audio"
    script = "document.title = 'pwned'; fetch('/pwned');"
    page = login("Reviewer")
    requested = []
    page.context.on("request", lambda request: requested.append(request.url))

    emulator.set_fault(
        "audio",
        "body",
        times=1,
        content_type="audio/wav, text/html",
        body=f'<title>recording</title><script src="{audio}?as=script"></script>',
    )
    emulator.set_fault(
        "audio", "body", times=1, content_type="audio/wav, text/javascript", body=script
    )
    with contextlib.suppress(PlaywrightError):  # a file to download is not a page
        page.goto(audio)
    page.wait_for_timeout(300)
    assert "pwned" not in page.title()

    # The same script loaded from one of our pages, as an injected <script src> would.
    emulator.clear_faults()
    emulator.set_fault("audio", "body", content_type="audio/wav, text/javascript", body=script)
    page.goto(f"{live_server.url}/")
    page.evaluate(
        "src => new Promise(done => { const s = document.createElement('script');"
        " s.src = src; s.onload = s.onerror = done; document.head.append(s); })",
        audio,
    )
    page.wait_for_timeout(300)
    assert "pwned" not in page.title()
    assert not [url for url in requested if url.endswith("/pwned")]
