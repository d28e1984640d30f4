"""The benchmark's helper processes, spoken to in JSON lines over their stdin and stdout.

The parent sends commands (`{"cmd": ...}`) and waits for events (`{"event": ...}`) with a
timeout; a child's stderr goes straight to the parent's, so its errors are seen as they happen.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from typing import Any


class ChildError(RuntimeError):
    """A helper process died, said something unexpected or did not answer in time."""


class Child:
    """One helper process (`python -m <module> ...`)."""

    def __init__(self, name: str, proc: asyncio.subprocess.Process) -> None:
        self.name = name
        self._proc = proc

    @classmethod
    async def start(cls, name: str, module: str, *args: str) -> Child:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            module,
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=16 * 1024 * 1024,
        )
        return cls(name, proc)

    @property
    def pid(self) -> int:
        return self._proc.pid

    async def send(self, cmd: str, **fields: Any) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write((json.dumps({"cmd": cmd, **fields}) + "\n").encode())
        try:
            await asyncio.wait_for(self._proc.stdin.drain(), 10)
        except (ConnectionError, TimeoutError) as exc:
            raise ChildError(f"{self.name}: cannot send {cmd!r}: {exc!r}") from exc

    async def expect(self, event: str, timeout_s: float) -> dict[str, Any]:
        """The next event from the child, which must be `event`."""
        assert self._proc.stdout is not None
        try:
            line = await asyncio.wait_for(self._proc.stdout.readline(), timeout_s)
        except TimeoutError:
            raise ChildError(f"{self.name}: no {event!r} within {timeout_s:.0f} s") from None
        if not line:
            code = await self._proc.wait()
            raise ChildError(f"{self.name} exited with code {code} before {event!r}")
        message: dict[str, Any] = json.loads(line)
        if message.get("event") != event:
            raise ChildError(f"{self.name}: expected {event!r}, got {message}")
        return message

    async def finish(self, timeout_s: float = 10.0) -> int:
        """Close its stdin and wait for it to exit (killed after `timeout_s`)."""
        if self._proc.stdin is not None and not self._proc.stdin.is_closing():
            self._proc.stdin.close()
        try:
            return await asyncio.wait_for(self._proc.wait(), timeout_s)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()
            return await self._proc.wait()


async def commands() -> AsyncIterator[dict[str, Any]]:
    """Child side: the commands on stdin, until it closes."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=16 * 1024 * 1024)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        yield json.loads(line)


def reply(event: str, **fields: Any) -> None:
    """Child side: one event to the parent."""
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()
