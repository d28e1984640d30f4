"""A stand-in for Asterisk's `AudioSocket()` dialplan application, for tests on real TCP.

Like Asterisk 22 it connects, sends the call's UUID frame, then one 320-byte slin frame every
20 ms; it records every frame the server sends with its arrival time; and it ends a call by
closing the socket without a hangup frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable

from media.audiosocket_codec import AudioSocketParser, Frame, encode_audio, encode_uuid

FRAME_BYTES = 320


def numbered_frame(n: int) -> bytes:
    """A recognisable 20 ms frame: every sample holds n."""
    return (n % 30000 + 1).to_bytes(2, "little", signed=True) * 160


class FakeAsterisk:
    def __init__(self, port: int, call_id: uuid.UUID, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port
        self.call_id = call_id
        self.received: list[tuple[float, Frame]] = []
        self.connected_at = 0.0
        self.eof = asyncio.Event()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._changed = asyncio.Event()

    async def connect(self, send_uuid: bool = True) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        self.connected_at = time.monotonic()
        self._tasks.append(asyncio.create_task(self._read()))
        if send_uuid:
            await self.send(encode_uuid(self.call_id))

    async def send(self, data: bytes) -> None:
        assert self._writer is not None
        self._writer.write(data)
        await self._writer.drain()

    def stream(
        self, frames: int | None = None, audio: Callable[[int], bytes] = numbered_frame
    ) -> None:
        """Send `frames` audio frames (None: until closed), one every 20 ms."""

        async def run() -> None:
            start = time.monotonic()
            n = 0
            while frames is None or n < frames:
                await asyncio.sleep(max(0.0, start + n * 0.02 - time.monotonic()))
                if self._writer is None or self._writer.is_closing():
                    return
                self._writer.write(encode_audio(audio(n)))
                n += 1

        self._tasks.append(asyncio.create_task(run()))

    async def close(self) -> None:
        """Hang up the way Asterisk 22 does: close the socket, no 0x00 frame."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError):
                await self._writer.wait_closed()

    async def wait_frames(self, count: int, timeout: float = 5.0) -> list[tuple[float, Frame]]:
        async with asyncio.timeout(timeout):
            while len(self.received) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.received[:count]

    async def wait_eof(self, timeout: float = 5.0) -> None:
        await asyncio.wait_for(self.eof.wait(), timeout)

    async def _read(self) -> None:
        assert self._reader is not None
        parser = AudioSocketParser()
        try:
            while data := await self._reader.read(4096):
                now = time.monotonic()
                self.received += [(now, frame) for frame in parser.feed(data)]
                self._changed.set()
        except ConnectionError:
            pass
        self.eof.set()
        self._changed.set()
