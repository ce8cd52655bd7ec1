"""Driving Chromium for P6: page loads with an empty cache, and their navigation timings."""

from pathlib import Path

from bench.timing import BenchError

CHROMIUM = Path("/usr/bin/chromium")

TIMING_JS = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const resources = performance.getEntriesByType("resource").map((r) => ({
    name: r.name, type: r.initiatorType, transfer: r.transferSize, encoded: r.encodedBodySize,
    decoded: r.decodedBodySize,
  }));
  return {
    transfer: nav.transferSize, encoded: nav.encodedBodySize, decoded: nav.decodedBodySize,
    responseEnd: nav.responseEnd, domContentLoaded: nav.domContentLoadedEventStart,
    resources,
  };
}"""


def first_loads(browser, url, cookies, runs, before="about:blank"):
    """Navigation and resource timings of `runs` loads, each with the browser's cache emptied.

    One browser context, so the browser is already running as a reviewer's would be; its HTTP
    cache (and with it every compiled script) is cleared before each load. Each load comes
    after `before`: from about:blank a page that sends Cross-Origin-Opener-Policy (as ours
    do) gets a new renderer process, as in a new tab; from a page of the same origin it keeps
    that page's process, as when a reviewer moves around the dashboard.
    """
    context = browser.new_context()
    context.add_cookies(cookies)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    loads = []
    for _ in range(runs):
        page.goto(before)
        cdp.send("Network.clearBrowserCache")
        response = page.goto(url, wait_until="load")
        if response is None or response.status != 200:
            raise BenchError(f"Chromium could not load {url}.")
        loads.append(page.evaluate(TIMING_JS))
    context.close()
    return loads


def launch(playwright):
    """Debian's Chromium, which `make bench` installs (Playwright's own build is not used)."""
    if not CHROMIUM.exists():
        raise BenchError(f"{CHROMIUM} is missing (make bench installs it as root).")
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
    )
