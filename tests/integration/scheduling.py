"""Waiting on a node whose scheduler is nudged between looks, so a test need not sit out the
scheduler's interval for the next due task."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from app.node import Node

T = TypeVar("T")


def dispatching(node: Node, check: Callable[[], Awaitable[T]]) -> Callable[[], Awaitable[T]]:
    """`check`, followed (when it does not hold yet) by one dispatch pass of `node`."""

    async def look() -> T:
        seen = await check()
        if not seen and node.scheduler is not None:
            await node.scheduler.dispatch_now()
        return seen

    return look
