"""Waiting for something to happen: one deadline on the monotonic clock, one clear failure."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

import pytest

T = TypeVar("T")


Message = str | Callable[[], str]


def _failed(message: Message, timeout: float, seen: object) -> str:
    said = message() if callable(message) else message
    return f"{said or 'the condition never held'} (after {timeout} s; last seen: {seen!r})"


@overload
async def until(
    check: Callable[[], Awaitable[T]],
    timeout: float = ...,
    message: Message = ...,
    *,
    step: float = ...,
) -> T: ...
@overload
async def until(
    check: Callable[[], T], timeout: float = ..., message: Message = ..., *, step: float = ...
) -> T: ...


async def until(
    check: Callable[[], Any],
    timeout: float = 5.0,
    message: Message = "",
    *,
    step: float = 0.01,
) -> Any:
    """Poll `check()` (sync or async) until it returns something truthy, and return that.

    Fails the test with `message` (a string, or a function giving one at that moment) and the
    last value seen when `timeout` seconds pass first.
    """
    deadline = time.monotonic() + timeout
    while True:
        seen = check()
        if inspect.isawaitable(seen):
            seen = await seen
        if seen:
            return seen
        if time.monotonic() >= deadline:
            pytest.fail(_failed(message, timeout, seen), pytrace=False)
        await asyncio.sleep(step)


def until_sync(
    check: Callable[[], T], timeout: float = 5.0, message: Message = "", *, step: float = 0.05
) -> T:
    """`until` for tests without an event loop (a served app, a subprocess)."""
    deadline = time.monotonic() + timeout
    while True:
        seen = check()
        if seen:
            return seen
        if time.monotonic() >= deadline:
            pytest.fail(_failed(message, timeout, seen), pytrace=False)
        time.sleep(step)
