"""Check Dockerfile, .dockerignore and compose.yaml for the mistakes CI cannot build to find.

CI has no Docker engine: `make image-check` runs the Dockerfile's build steps outside Docker
(scripts/image_build.sh) and this script checks the rest of what docs/deploy.md promises.
Prints every problem and exits 1 if there is one.
"""

import re
import shlex
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BUILD_STEPS = {"deps", "static", "check"}
SECRET_NAME = re.compile(r"SECRET|PASSWORD|API_KEY|TOKEN", re.IGNORECASE)
MUST_IGNORE = {".env", ".git", ".venv", "db.sqlite3", "staticfiles"}


def dockerfile_instructions(text):
    """(instruction, arguments) pairs, with continuation lines joined and comments dropped."""
    logical, pending = [], ""
    for line in text.splitlines():
        if line.strip().startswith("#") and not pending:
            continue
        pending += line.rstrip("\\").strip() + " "
        if not line.rstrip().endswith("\\"):
            if pending.strip():
                logical.append(pending.strip())
            pending = ""
    return [(name, args.strip()) for name, _, args in (line.partition(" ") for line in logical)]


def check_dockerfile(problems):
    instructions = dockerfile_instructions((ROOT / "Dockerfile").read_text())
    names = [name.upper() for name, _ in instructions]
    if (
        not instructions
        or names[0] != "FROM"
        or not instructions[0][1].startswith("python:3.11-slim")
    ):
        problems.append("Dockerfile: the base must be python:3.11-slim")
    users = [args.strip() for name, args in instructions if name.upper() == "USER"]
    if not users or users[-1] in {"root", "0"} or "CMD" not in names:
        problems.append("Dockerfile: the last USER must be a non-root user")
    elif names.index("USER") > names.index("CMD"):
        problems.append("Dockerfile: USER must come before CMD")
    steps_run = set()
    for name, args in instructions:
        name = name.upper()
        if name == "RUN":
            words = shlex.split(args)
            if words[:2] == ["sh", "scripts/image_build.sh"] and set(words[2:]) <= BUILD_STEPS:
                steps_run |= set(words[2:])
            elif words[:1] != ["useradd"]:
                problems.append(
                    f"Dockerfile: RUN {args!r} is not a step of scripts/image_build.sh, so CI "
                    "does not run it (add it there)"
                )
        if name in {"ENV", "ARG"} and SECRET_NAME.search(args):
            problems.append(f"Dockerfile: {name} {args!r} bakes a secret into the image")
        if name in {"CMD", "ENTRYPOINT"} and "migrate" in args:
            problems.append("Dockerfile: migrations must not run at every start")
        if name == "COPY":
            for source in shlex.split(args)[:-1]:
                if not source.startswith("--") and not (ROOT / source).exists():
                    problems.append(f"Dockerfile: COPY {source}: no such file")
    if steps_run != BUILD_STEPS:
        problems.append(
            f"Dockerfile: image_build.sh steps run {sorted(steps_run)}, not all of "
            f"{sorted(BUILD_STEPS)}"
        )
    healthcheck = " ".join(args for name, args in instructions if name.upper() == "HEALTHCHECK")
    if (
        "scripts/healthcheck.py" not in healthcheck
        or not (ROOT / "scripts/healthcheck.py").exists()
    ):
        problems.append("Dockerfile: HEALTHCHECK must run scripts/healthcheck.py (/healthz)")
    cmd = " ".join(args for name, args in instructions if name.upper() == "CMD")
    if "gunicorn" not in cmd or "gunicorn.conf.py" not in cmd:
        problems.append("Dockerfile: CMD must start gunicorn with gunicorn.conf.py")


def check_dockerignore(problems):
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    for missing in sorted(MUST_IGNORE - ignored):
        problems.append(f".dockerignore: {missing} must not reach the image")


def check_compose(problems):
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose.get("services", {})
    missing = [
        name
        for name in ("postgres", "redis", "migrate", "web", "worker", "lb", "emulator")
        if name not in services
    ]
    if missing:
        problems.append(f"compose.yaml: no {', '.join(missing)} service")
        return
    for name, service in services.items():
        environment = service.get("environment") or {}
        if isinstance(environment, list):
            environment = dict(item.partition("=")[::2] for item in environment)
        for variable, value in environment.items():
            literal = re.sub(r"\$\{[^}]*\}", "", str(value))
            if SECRET_NAME.search(variable) and literal.strip():
                problems.append(f"compose.yaml: {name}.{variable} is written in the file")
            if re.search(r"://[^/@:]*:[^/@$]+@", literal):
                problems.append(f"compose.yaml: {name}.{variable} holds a password")
    if "migrate" not in " ".join(services["migrate"].get("command", [])):
        problems.append("compose.yaml: the migrate service must run manage.py migrate")
    web = services["web"]
    if web.get("deploy", {}).get("replicas", 1) < 2:
        problems.append("compose.yaml: web needs at least two replicas")
    if web.get("depends_on", {}).get("migrate", {}).get("condition") != (
        "service_completed_successfully"
    ):
        problems.append("compose.yaml: web must wait for migrate to finish")
    if "command" in web:
        problems.append("compose.yaml: web must run the image's CMD (gunicorn)")
    worker = services["worker"]
    if "run_huey" not in " ".join(worker.get("command", [])):
        problems.append("compose.yaml: the worker service must run manage.py run_huey")
    if worker.get("depends_on", {}).get("migrate", {}).get("condition") != (
        "service_completed_successfully"
    ):
        problems.append("compose.yaml: the worker must wait for migrate to finish")
    if "demo" not in services["emulator"].get("profiles", []):
        problems.append("compose.yaml: the emulator belongs to the demo profile only")
    mounts = [str(volume).split(":") for volume in services["postgres"].get("volumes", [])]
    named = [source for source, *_ in mounts if source in (compose.get("volumes") or {})]
    if not named:
        problems.append("compose.yaml: PostgreSQL's data must be on a named volume")
    for source, *_ in (str(volume).split(":") for volume in services["lb"].get("volumes", [])):
        if source.startswith(".") and not (ROOT / source).exists():
            problems.append(f"compose.yaml: lb mounts {source}, which does not exist")


def main():
    problems = []
    check_dockerfile(problems)
    check_dockerignore(problems)
    check_compose(problems)
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print("Dockerfile, .dockerignore and compose.yaml: ok")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
