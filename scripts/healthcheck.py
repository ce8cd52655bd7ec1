"""The image's HEALTHCHECK: exit 0 when this container's /healthz answers 200, else 1.

Standard library only, no Django: it runs every 30 seconds and must cost next to nothing.
It sends the first of ALLOWED_HOSTS as the Host header, since the dashboard answers no
other name (a leading dot, for subdomains, is dropped).
"""

import os
import sys
import urllib.request


def main():
    port = os.environ.get("PORT", "8000")
    hosts = [host.strip() for host in os.environ.get("ALLOWED_HOSTS", "localhost").split(",")]
    host = next((host.lstrip(".") for host in hosts if host and host != "*"), "localhost")
    request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz", headers={"Host": host})
    try:
        # A fixed http URL on this machine: no user input reaches it.
        with urllib.request.urlopen(request, timeout=3) as response:  # noqa: S310
            return 0 if response.status == 200 else 1
    except OSError as exc:
        print(f"healthcheck: /healthz did not answer: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
