"""Where the dialplan marks that an attempt's Originate reached Asterisk, without I/O.

A node that dies between writing a call's row and sending its Originate leaves an attempt that
looks like a call to the others: the reaper could only count it as a technical failure (a lost
task when no attempt is left). `[opendeep-dialled]` (asterisk/templates/extensions.conf.in),
the first thing an attempt's Local ;2 half runs, writes `opendeep-dialled/<bucket>/<CALL_UUID>`
into the AstDB; the reaper reads it back with AMI DBGet (`reporting`): a mark means the call
went out, none — on a PBX whose dialplan marks calls (`SWEPT_KEY` is there) and soon enough
after the row was written — means it never did, and the attempt is given back undialled.

Buckets are UTC days since 1970 modulo `BUCKETS`; the first call of a day empties the two
buckets older than yesterday, so a mark lives at least a whole day after the day it was made.
"""

from __future__ import annotations

import datetime as dt

FAMILY = "opendeep-dialled"
# The day the dialplan last emptied the old buckets; present once it has marked a call.
SWEPT_KEY = "swept"
BUCKETS = 4
# How long after its row was written an attempt's missing mark still proves "never dialled":
# well inside a mark's shortest life (one whole day after its own).
TRUSTED_FOR = dt.timedelta(hours=12)
_DAY_S = 86_400


def day_of(at: dt.datetime) -> int:
    """UTC days since 1970 (the dialplan's `TRUNC(${EPOCH} / 86400)`); naive times are UTC."""
    return int(_utc(at).timestamp()) // _DAY_S


def mark_keys(call_uuid: str, placed_at: dt.datetime) -> list[str]:
    """The keys under `FAMILY` where the mark of a call whose row was written at `placed_at`
    can be: its day's bucket and the days either side (the PBX's clock may differ from the
    node's, and the Originate may reach it after midnight)."""
    day = day_of(placed_at)
    return [f"{(day + shift) % BUCKETS}/{call_uuid}" for shift in (0, 1, -1)]


def can_judge(placed_at: dt.datetime, now: dt.datetime) -> bool:
    """Whether a missing mark still proves the call was never dialled (see `TRUSTED_FOR`)."""
    return _utc(now) - _utc(placed_at) <= TRUSTED_FOR


def _utc(at: dt.datetime) -> dt.datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)
