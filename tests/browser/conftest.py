"""A real Chromium (Debian's) driven by Playwright against the live dashboard and emulator."""

import os
from pathlib import Path

import pytest

from tests.helpers import log_in

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
OUTPUT = Path(__file__).resolve().parent.parent.parent / "test-results"

# Playwright's sync API runs an event loop in this thread; the ORM calls our fixtures make
# from here are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: browser tests cannot run (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--autoplay-policy=no-user-gesture-required",
                "--mute-audio",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def login(page, live_server, make_user, emulator):
    """Log in through the real login form as a new user with the given role."""

    def as_role(role):
        log_in(page, live_server.url, make_user(role).username)
        return page

    return as_role


@pytest.fixture
def screenshot():
    OUTPUT.mkdir(exist_ok=True)

    def take(page, name):
        path = OUTPUT / f"{name}.png"
        page.screenshot(path=str(path), full_page=False)
        return path

    return take
