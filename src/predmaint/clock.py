"""The one clock: every timestamp predmaint writes (reports, registry history, the API) is UTC.

One function, so tests and readers know where "now" comes from and every record agrees on the
time zone; callers choose the text form (``isoformat``) where they write it.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)
