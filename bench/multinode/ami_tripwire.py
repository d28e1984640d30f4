"""`AmiTripwire`: the killed node's AMI connection, passed through a loopback relay that can
kill the node at the worst moment for exactly-once dialling.

Once armed, the next `Originate` the node sends is held back and the node is SIGKILLed before
it reaches Asterisk: the node has claimed the task, counted the attempt and written its call
row, and Asterisk never sees the call. Without it, a kill from outside lands in that window
only by chance (one run in many); with it every run with a kill walks the path where the
others must find out from the PBX that the attempt was never dialled (`telephony.dial_marks`).
Everything else is relayed byte for byte.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import time
from dataclasses import dataclass

_END = b"\r\n\r\n"
_ORIGINATE = re.compile(rb"^Action:\s*Originate\s*$", re.I | re.M)
_TASK_ID = re.compile(rb"^Variable:\s*TASK_ID=(\d+)\s*$", re.I | re.M)
_CHUNK = 65_536


@dataclass(slots=True)
class Tripped:
    """The Originate held back: its task (None if it named none) and when the node was killed."""

    task_id: int | None
    at: float


class AmiTripwire:
    """A relay on 127.0.0.1:`port` to Asterisk's AMI at `host`:`ami_port`."""

    def __init__(self, host: str, ami_port: int) -> None:
        self._upstream = (host, ami_port)
        self._server: asyncio.Server | None = None
        self._pid: int | None = None
        self._pumps: set[asyncio.Task[None]] = set()
        self.tripped: Tripped | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, "start() first"
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def armed(self) -> bool:
        return self._pid is not None and self.tripped is None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)

    def arm(self, pid: int) -> None:
        """Kill process `pid` at the next Originate it sends (it is never relayed)."""
        self._pid = pid

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for pump in list(self._pumps):
            pump.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        except OSError:
            writer.close()
            return
        pumps = [
            asyncio.create_task(self._actions(reader, up_writer)),
            asyncio.create_task(_copy(up_reader, writer)),
        ]
        self._pumps.update(pumps)
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()
                self._pumps.discard(pump)
            for w in (writer, up_writer):
                w.close()

    async def _actions(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """The node's actions, one message (ending in a blank line) at a time."""
        pending = b""
        while chunk := await reader.read(_CHUNK):
            pending += chunk
            out = b""
            while (end := pending.find(_END)) >= 0:
                message, pending = pending[: end + len(_END)], pending[end + len(_END) :]
                if self.armed and _ORIGINATE.search(message):
                    self._trip(message)
                    writer.write(out)  # what came before it still goes
                    return
                out += message
            writer.write(out)
            await writer.drain()

    def _trip(self, message: bytes) -> None:
        assert self._pid is not None
        task = _TASK_ID.search(message)
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._pid, signal.SIGKILL)
        self.tripped = Tripped(
            task_id=int(task.group(1)) if task else None,
            at=time.time(),
        )


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while chunk := await reader.read(_CHUNK):
        writer.write(chunk)
        await writer.drain()
