"""OpenDeep's LangGraph thread ids, and the check that a thread is the caller's.

Thread ids are `inst:<installation id>:user:<user id>:<kind>:<object id>`: a thread is only ever
run or resumed for the user named in its id, on the database whose installation id it carries
(checkpoints can outlive their database: one recreated in the same folder, or a second one
beside it, hands out the same user and object ids again).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from langchain_core.runnables import RunnableConfig

ThreadKind = Literal["chat", "plan", "call", "lifecycle"]
THREAD_KINDS: tuple[ThreadKind, ...] = ("chat", "plan", "call", "lifecycle")


class ThreadAccessDenied(PermissionError):
    """The thread is not the caller's (or the run names no user)."""


THREAD_PREFIX = "inst"


@dataclass(frozen=True, slots=True)
class ThreadRef:
    """The parts of an OpenDeep thread id; `installation_id` is None in a short id."""

    user_id: int
    kind: ThreadKind
    object_id: str
    installation_id: uuid.UUID | None = None


def thread_id_for(
    installation_id: uuid.UUID, user_id: int, kind: ThreadKind, object_id: int | str
) -> str:
    """`inst:<installation id>:user:<user id>:<kind>:<object id>`."""
    if user_id <= 0 or kind not in THREAD_KINDS or not str(object_id).strip():
        raise ValueError(f"bad thread id parts: user {user_id!r}, {kind!r}, {object_id!r}")
    return f"{THREAD_PREFIX}:{installation_id}:user:{user_id}:{kind}:{object_id}"


def parse_thread_id(thread_id: str) -> ThreadRef | None:
    """The parts of one of our thread ids, or None when it is not one.

    The short form `user:<user id>:<kind>:<object id>` (the UI's name for a chat conversation)
    parses with no installation: it names no database, so no run or resume accepts it as is.
    """
    installation: uuid.UUID | None = None
    rest = thread_id
    if thread_id.startswith(THREAD_PREFIX + ":"):
        spelled, _, rest = thread_id.removeprefix(THREAD_PREFIX + ":").partition(":")
        try:
            installation = uuid.UUID(spelled)
        except ValueError:
            return None
        if str(installation) != spelled:
            return None  # one spelling per thread: the checkpointer keys on the string
    parts = rest.split(":", 3)
    if len(parts) != 4 or parts[0] != "user" or not parts[1].isdigit():
        return None
    if parts[2] not in THREAD_KINDS or not parts[3]:
        return None
    return ThreadRef(int(parts[1]), parts[2], parts[3], installation)


def check_thread_owner(
    thread_id: str,
    user_id: int,
    *,
    installation_id: uuid.UUID | None,
    allow_foreign: bool = False,
) -> None:
    """Raise `ThreadAccessDenied` unless the thread is `user_id`'s on this installation.

    `installation_id` is that of the database the run works on (None: unknown, so refused); a
    short id names no installation and is refused too. `allow_foreign` lets ids that are not
    ours through (LangGraph Studio makes UUID threads).
    """
    ref = parse_thread_id(thread_id)
    if ref is None:
        if allow_foreign:
            return
        raise ThreadAccessDenied(f"{thread_id!r} is not an OpenDeep thread id")
    if ref.user_id != user_id:
        raise ThreadAccessDenied(f"thread {thread_id!r} does not belong to user {user_id}")
    if ref.installation_id is None:
        raise ThreadAccessDenied(f"thread {thread_id!r} names no installation")
    if ref.installation_id != installation_id:
        raise ThreadAccessDenied(
            f"thread {thread_id!r} belongs to another database (installation "
            f"{ref.installation_id}, not {installation_id})"
        )


def thread_config(user_id: int, thread_id: str, *, installation_id: uuid.UUID) -> RunnableConfig:
    """The run config of a thread, after checking that it is the user's on this installation."""
    check_thread_owner(thread_id, user_id, installation_id=installation_id)
    return RunnableConfig(configurable={"thread_id": thread_id})
