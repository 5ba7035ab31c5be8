"""Write the deployment's ``.env`` from ``.env.example``, filling each empty secret at random.

Why a generator: docker-compose.yml has no default for any secret (it refuses to start while one is
empty), and hand-made secrets are the ones that end up as ``changeme`` in production. The Airflow
fernet key also has a format (32 url-safe base64 bytes) that is easy to get wrong by hand.

Standard library only, so it runs with any host Python 3 or in ``python:3.11-slim`` (see
``.env.example``). Values already present in the example (non-secrets such as ports, and the spec's
``admin`` login) are copied as they are; an existing ``.env`` is never overwritten without
``--force``. ``--expose-api`` publishes the API on every interface and gives it a fresh API key.

The file is written by whoever runs this (mode 0600): run it as yourself, not as root in a container
with the repository mounted, or compose run by you cannot read it.
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _password() -> str:
    """43 url-safe characters: safe inside the connection URLs compose builds from it."""
    return secrets.token_urlsafe(32)


def _fernet_key() -> str:
    """The format Airflow's ``Fernet`` demands: 32 random bytes, url-safe base64."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")


def _signing_secret() -> str:
    """A long HMAC secret (JWT and session signing)."""
    return secrets.token_urlsafe(48)


#: Every secret docker-compose.yml requires, and how to make a good one.
GENERATORS: dict[str, Callable[[], str]] = {
    "POSTGRES_PASSWORD": _password,
    "AIRFLOW_DB_PASSWORD": _password,
    "MLFLOW_DB_PASSWORD": _password,
    "REDIS_PASSWORD": _password,
    "AIRFLOW_FERNET_KEY": _fernet_key,
    "AIRFLOW_JWT_SECRET": _signing_secret,
    "AIRFLOW_API_SECRET_KEY": _signing_secret,
}


#: What ``--expose-api`` sets: the API on every interface, behind a key of its own.
EXPOSED_API: dict[str, Callable[[], str]] = {
    "API_BIND_ADDRESS": lambda: "0.0.0.0",
    "PREDMAINT_API_KEY": _password,
}


def render(example: str, *, expose_api: bool = False) -> tuple[str, list[str]]:
    """Return the example's text with empty secrets filled, and the names that were filled.

    Comments, order and non-secret values are kept, so the written ``.env`` documents itself.
    """
    lines: list[str] = []
    filled: list[str] = []
    for line in example.splitlines():
        key, sep, value = line.partition("=")
        name = key.strip()
        active = bool(sep) and not line.lstrip().startswith("#")
        if active and expose_api and name in EXPOSED_API:
            lines.append(f"{name}={EXPOSED_API[name]()}")
            filled.append(name)
        elif active and name in GENERATORS and not value.strip():
            lines.append(f"{name}={GENERATORS[name]()}")
            filled.append(name)
        else:
            lines.append(line)
    return "\n".join(lines) + "\n", filled


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--example", type=Path, default=ROOT / ".env.example")
    parser.add_argument("--output", type=Path, default=ROOT / ".env")
    parser.add_argument("--force", action="store_true", help="overwrite an existing output file")
    parser.add_argument(
        "--expose-api",
        action="store_true",
        help="publish the API on all interfaces (API_BIND_ADDRESS=0.0.0.0) with a new PREDMAINT_API_KEY",
    )
    args = parser.parse_args(argv)

    if args.output.exists() and not args.force:
        print(
            f"{args.output} exists; keeping it (its secrets may already be in use: new ones would "
            "lock you out of existing volumes). Use --force to replace it.",
            file=sys.stderr,
        )
        return 1
    text, filled = render(args.example.read_text(encoding="utf-8"), expose_api=args.expose_api)
    missing = sorted(set(GENERATORS) - set(filled) - _set_in(text))
    if missing:
        print(f"{args.example} does not declare {', '.join(missing)}", file=sys.stderr)
        return 1
    tmp = args.output.with_name(args.output.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    tmp.replace(args.output)
    print(f"wrote {args.output} with new random values for: {', '.join(filled) or 'nothing'}")
    return 0


def _set_in(text: str) -> set[str]:
    """Names that have a non-empty value in an env file's text."""
    names = set()
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith("#") and value.strip():
            names.add(key.strip())
    return names


if __name__ == "__main__":
    sys.exit(main())
