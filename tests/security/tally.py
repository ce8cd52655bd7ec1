"""What the adversarial suites tried, counted for the summary at the end of a run.

The security and resilience suites send their requests through `send`, which never lets an
exception escape as a test error: a view that crashes answers 500 here, is counted, and the
test that sent it fails naming the request.
"""

from collections import Counter

COUNTS = Counter()

LABELS = {
    "walked": "URL patterns x roles x methods walked",
    "hostile": "hostile inputs tried",
    "faults": "platform faults tried",
    "requests": "requests sent in all",
    "server_errors": "HTTP 500 answers seen",
}


def send(client, method, path, **kwargs):
    """Make a request with the Django test client and count it; a crash is a 500, not a raise."""
    client.raise_request_exception = False
    response = getattr(client, method.lower())(path, **kwargs)
    COUNTS["requests"] += 1
    if response.status_code == 500:
        COUNTS["server_errors"] += 1
    return response


def report(terminalreporter):
    """Print the counts, once a run (tests/conftest.py asks at the end)."""
    if not COUNTS:
        return
    terminalreporter.section("security and resilience")
    for key, label in LABELS.items():
        if key in COUNTS or key == "server_errors":
            terminalreporter.write_line(f"{COUNTS[key]:>7}  {label}")
    COUNTS.clear()
