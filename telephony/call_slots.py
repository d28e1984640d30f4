"""Concurrent-call slots: at most `capacity` calls up at once on this node.

`SlotLedger` is the accounting (pure); `CallSlots` adds waiting in FIFO order. A slot is keyed
by the call's channel id, so releasing twice (a Hangup event and a reconciliation) frees it once.
"""

from __future__ import annotations

import asyncio
from collections import deque

from telephony.errors import NoCallSlot


class SlotLedger:
    """Which keys hold a slot; never more than `capacity`."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"a call limit must be at least 1, got {capacity}")
        self.capacity = capacity
        self._held: set[str] = set()

    @property
    def held(self) -> frozenset[str]:
        return frozenset(self._held)

    @property
    def free(self) -> int:
        return self.capacity - len(self._held)

    def take(self, key: str) -> bool:
        """Give `key` a slot if one is free (True also when it already holds one)."""
        if key in self._held:
            return True
        if len(self._held) >= self.capacity:
            return False
        self._held.add(key)
        return True

    def give_back(self, key: str) -> bool:
        """Free `key`'s slot; False when it held none (a repeated release is harmless)."""
        if key not in self._held:
            return False
        self._held.remove(key)
        return True


class CallSlots:
    """Slots that callers wait for, first come first served, for a bounded time."""

    def __init__(self, capacity: int) -> None:
        self._ledger = SlotLedger(capacity)
        self._waiters: deque[tuple[str, asyncio.Future[None]]] = deque()

    @property
    def capacity(self) -> int:
        return self._ledger.capacity

    @property
    def in_use(self) -> int:
        return len(self._ledger.held)

    @property
    def waiting(self) -> int:
        return sum(1 for _, fut in self._waiters if not fut.done())

    def holds(self, key: str) -> bool:
        return key in self._ledger.held

    async def acquire(self, key: str, wait_s: float) -> None:
        """Take a slot for `key`, waiting up to `wait_s` s behind earlier callers.

        Raises `NoCallSlot` when none came free in time (`wait_s` 0: refuse at once).
        """
        if not self.waiting and self._ledger.take(key):
            return
        if wait_s <= 0:
            raise NoCallSlot(f"all {self.capacity} call slots are in use")
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((key, fut))
        try:
            async with asyncio.timeout(wait_s):
                await asyncio.shield(fut)
        except TimeoutError:
            self._withdraw(key, fut)
            raise NoCallSlot(
                f"all {self.capacity} call slots stayed in use for {wait_s:g} s"
            ) from None
        except BaseException:
            self._withdraw(key, fut)
            raise

    def release(self, key: str) -> bool:
        """Free `key`'s slot and hand it to the next waiter; False if `key` held none."""
        if not self._ledger.give_back(key):
            return False
        self._grant()
        return True

    def _withdraw(self, key: str, fut: asyncio.Future[None]) -> None:
        if fut.done() and not fut.cancelled():
            # Granted in the same instant the caller gave up: pass it on.
            self.release(key)
        else:
            fut.cancel()
        self._waiters = deque((k, f) for k, f in self._waiters if f is not fut)

    def _grant(self) -> None:
        while self._waiters and self._ledger.free > 0:
            key, fut = self._waiters.popleft()
            if fut.done():
                continue
            self._ledger.take(key)
            fut.set_result(None)
