"""The deterministic Asterisk channel ids of one call attempt.

Asterisk refuses an `Originate` whose `ChannelId` belongs to a live channel, so an id derived
from (task, attempt) turns a repeated request — a retry after a lost response, a replay after a
reconnect, a second node racing for the same attempt — into a refusal instead of a second dial.
The same value is the call's UUID (`CALL_UUID`, `calls.call_uuid`, the AudioSocket id).

Task ids are only unique within one database, and several installations (production and
staging, two test runs) may share one PBX. So the ids are derived in a namespace of the
installation — `call_namespace(installation_id)`, from the id its database keeps
(`SystemOps.installation_id`) — which every node of one database shares (they still refuse
each other's repeats) and no other installation does (task 1 here is not task 1 there).
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


def call_namespace(installation_id: uuid.UUID) -> uuid.UUID:
    """The namespace of the channel ids of installation `installation_id` (same in, same out)."""
    # Derived rather than the installation id itself, so that other ids made from the
    # installation id some day cannot coincide with channel ids.
    return uuid.uuid5(OPENDEEP_CALLS, str(installation_id))


def attempt_ids(task_id: int, attempt: int, namespace: uuid.UUID) -> AttemptIds:
    """The channel ids of attempt `attempt` of task `task_id` in `namespace` (see
    `call_namespace`), as UUID strings, as Asterisk wants them."""
    if task_id <= 0 or attempt <= 0:
        raise ValueError(f"task id and attempt must be positive, got {task_id} and {attempt}")
    base = f"task:{task_id}:attempt:{attempt}"
    return AttemptIds(
        channel_id=str(uuid.uuid5(namespace, base)),
        other_channel_id=str(uuid.uuid5(namespace, base + ":dial")),
    )
