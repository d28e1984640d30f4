"""What the local Realtime server saw on one connection, for tests and rehearsal reports."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from media.realtime_events import JsonDict

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Truncation:
    item_id: str
    content_index: int
    audio_end_ms: int


@dataclass(frozen=True, slots=True)
class FunctionOutput:
    call_id: str
    output: str


@dataclass(frozen=True, slots=True)
class ItemMessage:
    """A `message` item the client added (`conversation.item.create`): its text parts, joined."""

    role: str
    text: str


@dataclass(eq=False)
class ConnectionRecord:
    """Everything received and sent on one connection (bounded to `limit` events each way)."""

    path: str
    model: str | None
    api_key: str
    limit: int = 100_000
    received: deque[JsonDict] = field(init=False)
    sent: deque[JsonDict] = field(init=False)
    sent_at: deque[float] = field(init=False)  # monotonic time of each `sent` event (benchmarks)
    truncations: list[Truncation] = field(default_factory=list)
    function_outputs: list[FunctionOutput] = field(default_factory=list)
    messages: list[ItemMessage] = field(default_factory=list)
    session: JsonDict = field(default_factory=dict)
    input_audio_ms: int = 0
    closed: bool = False
    _changed: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    def __post_init__(self) -> None:
        self.received = deque(maxlen=self.limit)
        self.sent = deque(maxlen=self.limit)
        self.sent_at = deque(maxlen=self.limit)

    def note_received(self, event: JsonDict) -> None:
        self.received.append(event)
        self._notify()

    def note_sent(self, event: JsonDict) -> None:
        self.sent.append(event)
        self.sent_at.append(time.monotonic())
        self._notify()

    def note_closed(self) -> None:
        self.closed = True
        self._notify()

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def received_types(self) -> list[str]:
        return [str(e.get("type")) for e in self.received]

    def sent_types(self) -> list[str]:
        return [str(e.get("type")) for e in self.sent]

    async def wait_for(self, check: Callable[[], T | None], timeout_s: float = 5.0) -> T:
        """Wait until `check()` returns something other than None and return it; raises
        `TimeoutError` after `timeout_s` seconds."""
        async with asyncio.timeout(timeout_s):
            while True:
                changed = self._changed
                result = check()
                if result is not None:
                    return result
                await changed.wait()

    async def wait_for_received(
        self, event_type: str, count: int = 1, timeout_s: float = 5.0
    ) -> JsonDict:
        """The `count`-th received event of `event_type`, once it has arrived."""
        return await self.wait_for(lambda: _nth(self.received, event_type, count), timeout_s)

    async def wait_for_sent(
        self, event_type: str, count: int = 1, timeout_s: float = 5.0
    ) -> JsonDict:
        """The `count`-th sent event of `event_type`, once it has gone out."""
        return await self.wait_for(lambda: _nth(self.sent, event_type, count), timeout_s)


def _nth(events: deque[JsonDict], event_type: str, count: int) -> JsonDict | None:
    seen = 0
    for event in events:
        if event.get("type") == event_type:
            seen += 1
            if seen == count:
                return event
    return None
