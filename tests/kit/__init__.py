"""The test kit: factories for rows, a fake clock, one way to wait, the development PBX."""

from tests.kit.clock import T0, FakeClock
from tests.kit.factories import make_call, make_campaign, make_feedback, make_task, make_user
from tests.kit.missing import IN_CI, not_tested
from tests.kit.waiting import until, until_sync

__all__ = [
    "IN_CI",
    "T0",
    "FakeClock",
    "make_call",
    "make_campaign",
    "make_feedback",
    "make_task",
    "make_user",
    "not_tested",
    "until",
    "until_sync",
]
