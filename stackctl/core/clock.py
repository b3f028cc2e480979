"""Time, in one place: the current UTC time, the timestamp format of histories, and deadlines."""

from __future__ import annotations

import datetime as dt
import time

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def timestamp(moment: dt.datetime | None = None) -> str:
    """ISO 8601 UTC to the second, as the histories and --json outputs write it: 2027-02-25T23:04:46Z."""
    return (moment or utcnow()).astimezone(dt.timezone.utc).strftime(TIMESTAMP_FORMAT)


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()

    def expired(self) -> bool:
        return self.left() <= 0


def age_seconds(started_at: str, now: dt.datetime) -> float | None:
    """Seconds since a Docker timestamp (RFC 3339 with nanoseconds); None when it does not parse."""
    try:
        started = dt.datetime.fromisoformat(started_at[:26].rstrip("Z") + "+00:00")
    except ValueError:
        return None
    return max(0.0, (now - started).total_seconds())
