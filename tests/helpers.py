"""What several test modules share: constants, and readers of pages and streamed answers.

Fixtures live in conftest.py; plain functions and constants live here, so that no test
module imports from another test module or from a conftest file.
"""

import os
import re
import secrets
import socket
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# A new key each run: a stray client of another test run on this machine that happens to reach
# this run's emulator port is refused instead of changing its data.
EMULATOR_KEY = f"emulator-test-key-{secrets.token_hex(8)}"

# The password of every user the make_user fixture creates.
PASSWORD = "a-long-pass-phrase"

# Seconds: the deadline of one platform call in the resilience suite, short to keep it short.
DEADLINE = 1.5


# The platform's stand-in ----------------------------------------------------------------------


def calls_to(emulator, endpoint):
    """How many calls the emulator received at one endpoint ("list", "get", "audio", ...)."""
    return sum(1 for call in emulator.calls if call.endpoint == endpoint)


def first_with_audio(emulator):
    """The id of the newest seeded conversation that has a recording."""
    return next(cid for cid in emulator.conversation_ids() if emulator.raw(cid).get("audio"))


def log_in(page, base_url, username):
    """Log in through the real login form, in a browser page, and land on the list."""
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base_url}/")


def closed_port():
    """A local port where nothing listens (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Start-up -------------------------------------------------------------------------------------


def import_settings(**env):
    """Import the settings in a fresh process, as start-up does, with this environment."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("XUNA_", "DJANGO_")) and key not in ("DEBUG", "SECRET_KEY")
    }
    environment.update({"SECRET_KEY": "s" * 50, **env})
    return subprocess.run(
        [sys.executable, "-c", "import dashboard.settings"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


def worker_environment(tmp_path, emulator, **settings):
    """The environment of a `manage.py run_huey` worker of its own: a SQLite database file and
    queue file in `tmp_path`, the emulator's address, no settings of this process's."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("XUNA_", "DJANGO_", "SYNC_", "INDEX_", "HUEY_"))
        and key not in ("DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL")
    }
    environment.update(
        SECRET_KEY="s" * 50,
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        HUEY_FILE=str(tmp_path / "huey.sqlite3"),
        XUNA_API_BASE_URL=emulator.url,
        XUNA_API_KEY=EMULATOR_KEY,
        XUNA_API_TIMEOUT="3",
        **settings,
    )
    return environment


# Answers --------------------------------------------------------------------------------------


def read_whole(response):
    """Run a streamed answer to its end (exports write their audit record then).

    The test client closes the response itself; closing it again here would send
    request_finished, which closes the test's database connection on PostgreSQL.
    """
    if response.streaming:
        b"".join(response.streaming_content)


# Pages ----------------------------------------------------------------------------------------

# Elements that have no end tag.
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class _Element(HTMLParser):
    """Finds the source of the first `tag` element with the given attributes.

    Only elements of the same tag are counted to find its end, so an unclosed <option> or
    <li> elsewhere does not throw the count off.
    """

    def __init__(self, html, tag, attributes):
        super().__init__(convert_charrefs=True)
        self.html, self.tag, self.attributes = html, tag, attributes
        self.line_starts = [0]
        for line in html.splitlines(keepends=True):
            self.line_starts.append(self.line_starts[-1] + len(line))
        self.start = self.end = None
        self.depth = 0
        self.feed(html)
        self.close()

    def here(self):
        line, column = self.getpos()
        return self.line_starts[line - 1] + column

    def handle_starttag(self, tag, attrs):
        if tag != self.tag or self.end is not None:
            return
        if self.start is None:
            if all(dict(attrs).get(name) == value for name, value in self.attributes.items()):
                self.start = self.here()
                self.depth = 1
                if tag in VOID:
                    self.end = self.html.index(">", self.start) + 1
        else:
            self.depth += 1

    def handle_endtag(self, tag):
        if tag != self.tag or self.start is None or self.end is not None:
            return
        self.depth -= 1
        if self.depth == 0:
            self.end = self.html.index(">", self.here()) + 1


def element(html, tag, **attributes):
    """The markup of the first `tag` element whose attributes have these values.

    Write `aria_labelledby="x"` for `aria-labelledby="x"` and `class_="x"` for `class="x"`.
    Fails the test when there is no such element.
    """
    wanted = {name.rstrip("_").replace("_", "-"): value for name, value in attributes.items()}
    found = _Element(html, tag, wanted)
    assert found.start is not None, f"no <{tag}> with {wanted}"
    assert found.end is not None, f"<{tag}> with {wanted} never ends"
    return html[found.start : found.end]


class _Text(HTMLParser):
    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.parts = []
        self.feed(html)
        self.close()

    def handle_data(self, data):
        self.parts.append(data)


def text_of(html):
    """The text a reader sees in some markup, each element's text apart, white space as one space.

    `<dt>Agent</dt><dd>Support bot</dd>` reads "Agent Support bot".
    """
    return " ".join(" ".join(_Text(html).parts).split())


def section(html, title_id):
    """The <section> a heading with this id names (aria-labelledby)."""
    return element(html, "section", aria_labelledby=title_id)


def row_of(html, conversation_id):
    """The list row (<tr id="row-...">) of one conversation."""
    return element(html, "tr", id=f"row-{conversation_id}")


def row_ids(html):
    """The conversation ids of the list rows in some markup, in order."""
    return re.findall(r'<tr id="row-([A-Za-z0-9_-]+)"', html)


# Browser pages ---------------------------------------------------------------------------------


def wait_until(page, expression, timeout=10.0):
    """Poll a JavaScript expression; the page's CSP forbids the eval that wait_for_function uses."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(f"() => Boolean({expression})"):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        time.sleep(0.05)
