"""Create or complete `.env` with a generated SECRET_KEY, keeping every other value there."""

import secrets
from pathlib import Path

ENV = Path(__file__).resolve().parent.parent / ".env"

lines = ENV.read_text(encoding="utf-8").splitlines() if ENV.exists() else []
if not any(line.startswith("SECRET_KEY=") and line[len("SECRET_KEY=") :].strip() for line in lines):
    lines = [line for line in lines if not line.startswith("SECRET_KEY=")]
    lines.append(f"SECRET_KEY={secrets.token_urlsafe(50)}")
    ENV.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ENV.chmod(0o600)
    print(f"Wrote a generated SECRET_KEY to {ENV.name}.")
