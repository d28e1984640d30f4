"""The deterministic Asterisk channel ids of one call attempt.

Asterisk refuses an `Originate` whose `ChannelId` belongs to a live channel, so an id derived
from (task, attempt) turns a repeated request — a retry after a lost response, a replay after a
reconnect, a second node racing for the same attempt — into a refusal instead of a second dial.
The same value is the call's UUID (`CALL_UUID`, `calls.call_uuid`, the AudioSocket id).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

# Fixed forever: changing it would give every past attempt a new id.
OPENDEEP_CALLS = uuid.UUID("6f70656e-6465-4570-a063-616c6c730001")


@dataclass(frozen=True, slots=True)
class AttemptIds:
    channel_id: str  # the Local channel's ;1 half: runs the agent, carries the call events
    other_channel_id: str  # the ;2 half: dials the number

    @property
    def call_uuid(self) -> str:
        return self.channel_id


def attempt_ids(task_id: int, attempt: int, namespace: uuid.UUID = OPENDEEP_CALLS) -> AttemptIds:
    """The channel ids of attempt `attempt` of task `task_id` (UUID strings, as Asterisk wants)."""
    if task_id <= 0 or attempt <= 0:
        raise ValueError(f"task id and attempt must be positive, got {task_id} and {attempt}")
    base = f"task:{task_id}:attempt:{attempt}"
    return AttemptIds(
        channel_id=str(uuid.uuid5(namespace, base)),
        other_channel_id=str(uuid.uuid5(namespace, base + ":dial")),
    )
