"""The phases of a call's conversation and the moves allowed between them, in one table."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final


class Phase(StrEnum):
    STARTING = "starting"  # the script is written; the AMD verdict may still be on its way
    CONNECTING = "connecting"  # the Realtime session is being opened
    SCREENING = "screening"  # a machine answered: its first words tell a mailbox from a menu
    TALKING = "talking"  # the agent and the callee converse
    HOLD = "hold"  # the callee put the agent on hold: it listens, silent, until a person speaks
    RECONNECTING = "reconnecting"  # the Realtime connection was lost; resuming it, once
    TRANSFERRING = "transferring"  # the owner's phone rings; the callee waits, the agent silent
    BRIEFING = "briefing"  # the owner answered: the agent briefs them, then the PBX bridges
    HANDED_OVER = "handed_over"  # owner and callee are bridged: the agent has left the call
    DRAINING = "draining"  # the last response (goodbye, mailbox message) finishes and plays
    HANGING_UP = "hanging_up"  # the hang-up is sent; the line closes
    ENDED = "ended"  # the line closed


TRANSITIONS: Final[Mapping[Phase, frozenset[Phase]]] = {
    Phase.STARTING: frozenset({Phase.CONNECTING, Phase.HANGING_UP, Phase.ENDED}),
    Phase.CONNECTING: frozenset({Phase.TALKING, Phase.SCREENING, Phase.HANGING_UP, Phase.ENDED}),
    Phase.SCREENING: frozenset(
        {
            Phase.TALKING,
            Phase.HOLD,
            Phase.DRAINING,
            Phase.RECONNECTING,
            Phase.HANGING_UP,
            Phase.ENDED,
        }
    ),
    Phase.TALKING: frozenset(
        {
            Phase.HOLD,
            Phase.TRANSFERRING,
            Phase.DRAINING,
            Phase.RECONNECTING,
            Phase.HANGING_UP,
            Phase.ENDED,
        }
    ),
    Phase.HOLD: frozenset(
        {
            Phase.TALKING,
            Phase.TRANSFERRING,
            Phase.DRAINING,
            Phase.RECONNECTING,
            Phase.HANGING_UP,
            Phase.ENDED,
        }
    ),
    # The owner answers (briefed, then bridged), or does not (back to the callee).
    Phase.TRANSFERRING: frozenset({Phase.BRIEFING, Phase.TALKING, Phase.HANGING_UP, Phase.ENDED}),
    Phase.BRIEFING: frozenset({Phase.HANDED_OVER, Phase.TALKING, Phase.HANGING_UP, Phase.ENDED}),
    # The PBX took both legs from the AudioSocket: the line closes under the agent.
    Phase.HANDED_OVER: frozenset({Phase.ENDED}),
    Phase.RECONNECTING: frozenset(
        {Phase.TALKING, Phase.SCREENING, Phase.HOLD, Phase.HANGING_UP, Phase.ENDED}
    ),
    Phase.DRAINING: frozenset({Phase.HANGING_UP, Phase.ENDED}),
    Phase.HANGING_UP: frozenset({Phase.ENDED}),
    Phase.ENDED: frozenset(),
}


class IllegalTransition(RuntimeError):
    """A move the table does not allow: a bug in the conversation, never the callee's doing."""

    def __init__(self, current: Phase, wanted: Phase) -> None:
        super().__init__(f"conversation cannot go from {current} to {wanted}")
        self.current = current
        self.wanted = wanted
