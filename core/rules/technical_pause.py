"""When repeated technical failures stop a campaign's dialling. Pure: outcomes in, verdict out.

A voice that keeps failing mid-call would otherwise ring every target up to its last attempt
and hang up on each; after a few failures in a row the campaign is paused instead, with a
banner, until its owner resumes it.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.domain import CallOutcome

PAUSE_AFTER = 3
TECHNICAL_FAILURE = CallOutcome.TECHNICAL_FAILURE


def technical_pause(
    recent: Sequence[str | None], last_reason: str, after: int = PAUSE_AFTER
) -> str | None:
    """The banner line when the campaign's `after` most recent calls (`recent`, newest first)
    all failed technically; None otherwise."""
    if after < 1 or len(recent) < after or any(o != TECHNICAL_FAILURE for o in recent[:after]):
        return None
    why = f": {last_reason}" if last_reason else ""
    return f"dialling paused after {after} technical failures in a row{why} — fix it, then Resume"
