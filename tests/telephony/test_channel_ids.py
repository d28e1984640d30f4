"""Deterministic channel ids per attempt."""

from __future__ import annotations

import uuid

import pytest

from telephony.channel_ids import OPENDEEP_CALLS, attempt_ids


def test_same_attempt_same_ids() -> None:
    assert attempt_ids(7, 2) == attempt_ids(7, 2)


@pytest.mark.parametrize(("other_task", "other_attempt"), [(7, 3), (8, 2), (2, 7), (72, 1)])
def test_other_attempts_differ(other_task: int, other_attempt: int) -> None:
    assert attempt_ids(7, 2).channel_id != attempt_ids(other_task, other_attempt).channel_id


def test_ids_are_uuids_and_the_halves_differ() -> None:
    ids = attempt_ids(1, 1)
    assert str(uuid.UUID(ids.channel_id)) == ids.channel_id
    assert str(uuid.UUID(ids.other_channel_id)) == ids.other_channel_id
    assert ids.channel_id != ids.other_channel_id
    assert ids.call_uuid == ids.channel_id
    assert len(ids.call_uuid) == 36  # fits calls.call_uuid


def test_namespace_is_fixed() -> None:
    # Changing these values would re-dial past attempts under new ids: never do it.
    assert str(OPENDEEP_CALLS) == "6f70656e-6465-4570-a063-616c6c730001"
    assert attempt_ids(1, 1).channel_id == str(uuid.uuid5(OPENDEEP_CALLS, "task:1:attempt:1"))


def test_another_namespace_gives_other_ids() -> None:
    assert attempt_ids(1, 1, uuid.uuid4()) != attempt_ids(1, 1)


@pytest.mark.parametrize(("task", "attempt"), [(0, 1), (1, 0), (-1, 1)])
def test_bad_input(task: int, attempt: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        attempt_ids(task, attempt)
