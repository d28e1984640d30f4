"""How late an event loop wakes up: every pacer tick and every frame timestamp pays this."""

from __future__ import annotations

import asyncio
import contextlib
import time
from array import array
from typing import Final

import numpy as np
import numpy.typing as npt

PERIOD_S: Final = 0.01


class LoopLag:
    """Sleeps 10 ms over and over and records how late each wake-up was, with its time."""

    def __init__(self) -> None:
        self._at: array[float] = array("d")
        self._lag: array[float] = array("d")
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch(), name="loop-lag")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def within(self, t0: float, t1: float) -> npt.NDArray[np.float64]:
        """The lags (seconds) of the wake-ups inside [t0, t1]."""
        at = np.frombuffer(self._at, dtype=np.float64)
        lag = np.frombuffer(self._lag, dtype=np.float64)
        return lag[(at >= t0) & (at <= t1)].copy()

    async def _watch(self) -> None:
        while True:
            start = time.monotonic()
            await asyncio.sleep(PERIOD_S)
            now = time.monotonic()
            self._at.append(now)
            self._lag.append(now - start - PERIOD_S)
