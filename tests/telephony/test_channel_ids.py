"""Deterministic channel ids per attempt, in the namespace of an installation."""

from __future__ import annotations

import uuid

import pytest

from telephony.channel_ids import OPENDEEP_CALLS, attempt_ids, call_namespace

HERE = call_namespace(uuid.UUID("0b9e3c2a-5d4f-4e61-9a7b-2c8d1e0f3a45"))
THERE = call_namespace(uuid.UUID("7f1d2e3c-4b5a-4697-8c1d-0e2f3a4b5c6d"))


def test_same_attempt_same_ids() -> None:
    assert attempt_ids(7, 2, HERE) == attempt_ids(7, 2, HERE)


@pytest.mark.parametrize(("other_task", "other_attempt"), [(7, 3), (8, 2), (2, 7), (72, 1)])
def test_other_attempts_differ(other_task: int, other_attempt: int) -> None:
    assert (
        attempt_ids(7, 2, HERE).channel_id
        != attempt_ids(other_task, other_attempt, HERE).channel_id
    )


def test_ids_are_uuids_and_the_halves_differ() -> None:
    ids = attempt_ids(1, 1, HERE)
    assert str(uuid.UUID(ids.channel_id)) == ids.channel_id
    assert str(uuid.UUID(ids.other_channel_id)) == ids.other_channel_id
    assert ids.channel_id != ids.other_channel_id
    assert ids.call_uuid == ids.channel_id
    assert len(ids.call_uuid) == 36  # fits calls.call_uuid


def test_derivation_is_fixed() -> None:
    # Changing these values would re-dial past attempts under new ids: never do it.
    assert str(OPENDEEP_CALLS) == "6f70656e-6465-4570-a063-616c6c730001"
    installation = uuid.UUID("0b9e3c2a-5d4f-4e61-9a7b-2c8d1e0f3a45")
    assert call_namespace(installation) == uuid.uuid5(OPENDEEP_CALLS, str(installation))
    assert attempt_ids(1, 1, HERE).channel_id == str(uuid.uuid5(HERE, "task:1:attempt:1"))
    assert attempt_ids(1, 1, HERE).other_channel_id == str(
        uuid.uuid5(HERE, "task:1:attempt:1:dial")
    )


def test_one_installation_one_namespace() -> None:
    installation = uuid.uuid4()
    assert call_namespace(installation) == call_namespace(uuid.UUID(str(installation)))
    assert attempt_ids(1, 1, call_namespace(installation)) == attempt_ids(
        1, 1, call_namespace(installation)
    )


@pytest.mark.parametrize(("task", "attempt"), [(1, 1), (7, 2), (123_456, 3)])
def test_two_installations_never_share_an_attempts_ids(task: int, attempt: int) -> None:
    """Two databases on one PBX: the same (task, attempt) is two different channels."""
    here, there = attempt_ids(task, attempt, HERE), attempt_ids(task, attempt, THERE)
    assert {here.channel_id, here.other_channel_id}.isdisjoint(
        {there.channel_id, there.other_channel_id}
    )


def test_the_namespace_is_not_the_installation_id() -> None:
    installation = uuid.uuid4()
    assert call_namespace(installation) != installation


@pytest.mark.parametrize(("task", "attempt"), [(0, 1), (1, 0), (-1, 1)])
def test_bad_input(task: int, attempt: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        attempt_ids(task, attempt, HERE)
