"""What the integration tests against the development PBX share.

- `AudioSocketSink`: a minimal AudioSocket server (reads the UUID frame, sends 320 bytes of
  silence every 20 ms until the call ends). It listens on a free port and each test call
  points the dialplan at it with the channel variable `OPENDEEP_AUDIOSOCKET`, which shadows
  the dialplan's global of the same name — so the tests never fight the real media server (or
  another engineer's) for port 9092.
- `EventLog`: every AMI event the test connection saw, with the filters the tests use.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid

HUMAN = "+12125550101"
BUSY = "+12125550102"
NO_ANSWER = "+12125550103"
CONGESTION = "+12125550104"
VOICEMAIL = "+12125550105"
IVR = "+12125550106"
QUICK_HANGUP = "+12125550107"
UNALLOCATED = "+12125550199"


class AudioSocketSink:
    """Accepts AudioSocket calls: notes each call UUID and plays silence until hang-up."""

    def __init__(self) -> None:
        self.uuids: list[str] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        drain = None
        try:
            head = await asyncio.wait_for(reader.readexactly(3), 5)
            payload = await reader.readexactly(int.from_bytes(head[1:3], "big"))
            if head[0] == 0x01 and len(payload) == 16:
                self.uuids.append(str(uuid.UUID(bytes=payload)))
            drain = asyncio.create_task(self._discard(reader))
            silence = b"\x10\x01\x40" + bytes(320)
            loop = asyncio.get_running_loop()
            next_at = loop.time()
            while not drain.done():
                writer.write(silence)
                await writer.drain()
                next_at += 0.02
                await asyncio.sleep(max(0.0, next_at - loop.time()))
        except (asyncio.IncompleteReadError, ConnectionError, TimeoutError):
            pass
        finally:
            if drain is not None:
                drain.cancel()
            writer.close()
            self._tasks.discard(task)

    @staticmethod
    async def _discard(reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                head = await reader.readexactly(3)
                await reader.readexactly(int.from_bytes(head[1:3], "big"))
                if head[0] in (0x00, 0xFF):
                    return


class EventLog:
    """Every AMI event seen by a connection (subscribe `append` with `on_event`)."""

    def __init__(self) -> None:
        self.events: list[dict[str, str]] = []

    def append(self, event: dict[str, str]) -> None:
        self.events.append(event)

    def where(self, name: str, **match: str) -> list[dict[str, str]]:
        return [
            e
            for e in self.events
            if e.get("Event") == name and all(e.get(k) == v for k, v in match.items())
        ]

    def of_call(self, channel_id: str) -> list[dict[str, str]]:
        return [
            e
            for e in self.events
            if channel_id in (e.get("Uniqueid"), e.get("Linkedid"), e.get("CallUUID"))
        ]

    def mark(self) -> int:
        return len(self.events)

    def since(self, mark: int) -> list[dict[str, str]]:
        return self.events[mark:]
