"""Waiting, bounded, for a server to get somewhere, and failing with the reason when it does not.

A probe is polled until it returns something truthy. Connection errors count as "not yet" (a
server still starting refuses connections); a process that died ends the wait at once, since
waiting longer would only hide why; a failure carries the servers' log tails.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


def _nobody_died() -> str | None:
    return None


def _no_report() -> str:
    return ""


def wait_for(
    what: str,
    probe: Callable[[], T | None],
    timeout: float,
    interval: float = 1.0,
    *,
    died: Callable[[], str | None] = _nobody_died,
    report: Callable[[], str] = _no_report,
) -> T:
    """Call ``probe`` until it returns something truthy, and return that.

    ``what`` says what is awaited ("waiting for the API server"); ``died`` names the processes
    that exited (``None`` while all run); ``report`` gives the logs shown with a failure.
    """
    deadline = time.monotonic() + timeout
    last_error = ""
    while True:
        dead = died()
        if dead:
            pytest.fail(f"{dead} exited while {what}\n{report()}", pytrace=False)
        try:
            result = probe()
        except OSError as error:  # urllib's URLError is one: refused, reset, timed out
            result, last_error = None, f"{type(error).__name__}: {error}"
        if result:
            return result
        if time.monotonic() > deadline:
            detail = f" (last error: {last_error})" if last_error else ""
            pytest.fail(
                f"timed out after {timeout:.0f} s {what}{detail}\n{report()}", pytrace=False
            )
        time.sleep(interval)
