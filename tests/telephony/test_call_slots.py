"""Concurrent-call slot accounting and waiting."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telephony.call_slots import CallSlots, SlotLedger
from telephony.errors import NoCallSlot


@pytest.mark.parametrize(
    ("capacity", "steps", "held"),
    [
        (2, [("take", "a", True), ("take", "b", True), ("take", "c", False)], {"a", "b"}),
        (1, [("take", "a", True), ("take", "a", True)], {"a"}),  # idempotent
        (1, [("take", "a", True), ("give", "a", True), ("give", "a", False)], set()),
        (1, [("give", "x", False), ("take", "b", True)], {"b"}),
        (
            2,
            [("take", "a", True), ("take", "b", True), ("give", "a", True), ("take", "c", True)],
            {"b", "c"},
        ),
    ],
)
def test_ledger(capacity: int, steps: list[tuple[str, str, bool]], held: set[str]) -> None:
    ledger = SlotLedger(capacity)
    for op, key, expected in steps:
        result = ledger.take(key) if op == "take" else ledger.give_back(key)
        assert result is expected, (op, key)
    assert ledger.held == held
    assert ledger.free == capacity - len(held)


def test_ledger_needs_a_slot() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        SlotLedger(0)


@given(
    capacity=st.integers(1, 4),
    ops=st.lists(st.tuples(st.booleans(), st.integers(0, 7)), max_size=60),
)
def test_ledger_never_exceeds_capacity(capacity: int, ops: list[tuple[bool, int]]) -> None:
    ledger = SlotLedger(capacity)
    model: set[str] = set()
    for take, n in ops:
        key = f"k{n}"
        if take:
            if ledger.take(key):
                model.add(key)
        else:
            ledger.give_back(key)
            model.discard(key)
        assert len(ledger.held) <= capacity
        assert ledger.held == model


async def test_waiters_are_served_in_order() -> None:
    slots = CallSlots(1)
    await slots.acquire("a", 1)
    order: list[str] = []

    async def want(key: str) -> None:
        await slots.acquire(key, 5)
        order.append(key)

    tasks = [asyncio.create_task(want(k)) for k in ("b", "c", "d")]
    await asyncio.sleep(0.01)
    assert slots.waiting == 3
    for key in ("a", "b", "c"):
        assert slots.release(key)
        await asyncio.sleep(0.01)
    await asyncio.gather(*tasks)
    assert order == ["b", "c", "d"]
    assert slots.in_use == 1 and slots.holds("d")


async def test_a_newcomer_cannot_jump_the_queue() -> None:
    slots = CallSlots(1)
    await slots.acquire("a", 1)
    waiter = asyncio.create_task(slots.acquire("b", 5))
    await asyncio.sleep(0.01)
    slots.release("a")
    # "c" arrives in the same instant the slot is handed to "b".
    with pytest.raises(NoCallSlot):
        await slots.acquire("c", 0)
    await waiter
    assert slots.holds("b")


async def test_refuse_at_once_and_time_out() -> None:
    slots = CallSlots(1)
    await slots.acquire("a", 0)
    with pytest.raises(NoCallSlot, match="all 1 call slots are in use"):
        await slots.acquire("b", 0)
    with pytest.raises(NoCallSlot, match=r"stayed in use for 0\.05 s"):
        await slots.acquire("b", 0.05)
    assert slots.waiting == 0
    slots.release("a")
    await slots.acquire("b", 0)


async def test_a_cancelled_waiter_leaves_no_trace() -> None:
    slots = CallSlots(1)
    await slots.acquire("a", 1)
    waiter = asyncio.create_task(slots.acquire("b", 5))
    await asyncio.sleep(0.01)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    slots.release("a")
    assert slots.in_use == 0 and slots.waiting == 0


async def test_three_times_oversubscribed_never_more_than_the_limit() -> None:
    slots = CallSlots(2)
    up = 0
    peak = 0

    async def call(i: int) -> None:
        nonlocal up, peak
        await slots.acquire(f"c{i}", 5)
        up += 1
        peak = max(peak, up)
        await asyncio.sleep(0.01 * (i % 3 + 1))
        up -= 1
        slots.release(f"c{i}")

    await asyncio.gather(*(call(i) for i in range(6)))
    assert peak == 2
    assert slots.in_use == 0
