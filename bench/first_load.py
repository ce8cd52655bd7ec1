"""P6: the first load of the list in Chromium, its cache emptied (docs/performance.md).

Against a bare page (bench/bare_page.py) loaded the same way: the floor of what Chromium takes.
"""

from bench import bare_page
from bench.browser import first_loads, launch
from bench.report import Row
from bench.timing import ms, p50, p95


def p6_first_load(dashboard, session, runs=15):
    # Imported only when P6 runs: nothing else in the benchmark needs Playwright.
    from playwright.sync_api import sync_playwright

    cookies = [{"name": "sessionid", "value": session.cookies["sessionid"], "url": dashboard.url}]
    with sync_playwright() as playwright:
        browser = launch(playwright)
        bare = bare_page.start()
        try:
            first_loads(browser, dashboard.url + "/", cookies, 2)  # Chromium's own warm-up
            floor = [
                t["domContentLoaded"] - t["responseEnd"]
                for t in first_loads(browser, bare_page.url(bare), [], runs)
            ]
            loads = first_loads(browser, dashboard.url + "/", cookies, runs)
            within = first_loads(browser, dashboard.url + "/", cookies, runs, dashboard.url + "/")
        finally:
            browser.close()
            bare.shutdown()
    totals = [t["transfer"] + sum(r["transfer"] for r in t["resources"]) for t in loads]
    scripts = [sum(r["encoded"] for r in t["resources"] if r["type"] == "script") for t in loads]
    dcl = [t["domContentLoaded"] - t["responseEnd"] for t in loads]
    dcl_within = [t["domContentLoaded"] - t["responseEnd"] for t in within]
    requests_made = 1 + len(loads[0]["resources"])
    return [
        Row(
            "P6",
            f"first load of the list in Chromium, cache emptied ({requests_made} requests): "
            "bytes transferred",
            "—",
            f"{p50(totals) / 1024:.1f} KB",
            f"{p95(totals) / 1024:.1f} KB",
            "≤ 60 KB",
            p95(totals) <= 60 * 1024,
        ),
        Row(
            "P6",
            "our JS + htmx, as sent (gzipped)",
            "—",
            f"{p50(scripts) / 1024:.1f} KB",
            f"{p95(scripts) / 1024:.1f} KB",
            "≤ 25 KB",
            p95(scripts) <= 25 * 1024,
        ),
        Row(
            "P6",
            "DOMContentLoaded after the HTML response's end, in a new tab (a new renderer)",
            f"a bare page, also in a new renderer: p50 {ms(p50(floor))}",
            ms(p50(dcl)),
            ms(p95(dcl)),
            "p50 ≤ 50 ms",
            p50(dcl) <= 50,
        ),
        Row(
            "P6",
            "the same, from a page of the dashboard in the same tab (its renderer kept)",
            "— (for reading the row above)",
            ms(p50(dcl_within)),
            ms(p95(dcl_within)),
            "—",
            None,
        ),
    ]
