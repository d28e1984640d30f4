"""Tools of the development PBX's smoke tests: an AMI session on panoramisk that keeps an
event log, and a tiny AudioSocket peer. Whether the PBX can be used is decided in one place,
`tests.kit.devpbx`; the fixtures are in conftest.py."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field

from panoramisk import Manager
from panoramisk.message import Message

ACTION_TIMEOUT = 5.0


@dataclass
class Call:
    """One originated call: its id (ChannelId = CALL_UUID) and the OriginateResponse."""

    call_uuid: str
    response: Message

    @property
    def channel(self) -> str:
        """The Local ;1 half that runs [opendeep-agent]."""
        return str(self.response.get("Channel", ""))


@dataclass
class Ami:
    """A logged-in panoramisk session that keeps every event it sees, for `wait_event`."""

    manager: Manager
    events: list[Message] = field(default_factory=list)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def _on_event(self, _manager: Manager, event: Message) -> None:
        self.events.append(event)
        self._arrived.set()

    async def action(
        self, action: Mapping[str, object], *, timeout: float = ACTION_TIMEOUT
    ) -> Message | list[Message]:
        # A panoramisk future can hang forever on a partial response: always bound it.
        # as_list=False unless it is an async Originate: panoramisk 1.4 crashes its reader
        # (KeyError 'async') on replies such as PlayDTMF's "DTMF successfully queued".
        as_list = None if action.get("Action") == "Originate" else False
        result: Message | list[Message] = await asyncio.wait_for(
            self.manager.send_action(dict(action), as_list=as_list), timeout
        )
        return result

    async def wait_event(self, match: Callable[[Message], bool], *, timeout: float) -> Message:
        """The first event (seen so far or arriving within `timeout` s) that `match`es."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        seen = 0
        while True:
            for event in self.events[seen:]:
                if match(event):
                    return event
            seen = len(self.events)
            remaining = deadline - loop.time()
            if remaining <= 0:
                names = sorted({e.event for e in self.events})
                raise TimeoutError(f"no matching AMI event within {timeout}s (saw: {names})")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)

    async def originate(
        self,
        number: str,
        *,
        ring_timeout: int = 10,
        recording: bool = False,
        audiosocket: str | None = None,
    ) -> Call:
        """Originate `Local/<number>@opendeep-outbound` the way the telephony layer does."""
        call_uuid = str(uuid.uuid4())
        variables = [
            f"CALL_UUID={call_uuid}",
            "TASK_ID=0",
            "USER_ID=0",
            f"RECORDING={int(recording)}",
            f"RING_TIMEOUT={ring_timeout}",
        ]
        if audiosocket is not None:
            # A channel variable shadows the dialplan's global of the same name.
            variables.append(f"OPENDEEP_AUDIOSOCKET={audiosocket}")
        result = await self.action(
            {
                "Action": "Originate",
                "Channel": f"Local/{number}@opendeep-outbound",
                "Context": "opendeep-agent",
                "Exten": "s",
                "Priority": "1",
                "ChannelId": call_uuid,
                "CallerID": '"OpenDeep test" <+12125550100>',
                "Timeout": str((ring_timeout + 5) * 1000),
                "Async": "true",
                "Variable": variables,
            },
            timeout=ring_timeout + 10,
        )
        # Async: panoramisk waits for the OriginateResponse event and returns both messages.
        response = result[-1] if isinstance(result, list) else result
        return Call(call_uuid, response)

    async def hang_up(self, call: Call) -> None:
        """Hang the call's ;1 channel up (if it still lives) and wait until it is gone."""
        await self.action({"Action": "Hangup", "Channel": call.channel})
        await self.wait_event(
            lambda e: e.event == "Hangup" and e.get("Uniqueid") == call.call_uuid, timeout=5
        )


@dataclass
class AudioSocketPeer:
    """A minimal AudioSocket server: records the first frame, counts audio frames and
    sends 320-byte frames every 20 ms from the moment Asterisk connects — `play` (s16le
    8 kHz), then silence. With `keep`, the callee's audio is kept too (`heard`, in order)."""

    play: bytes = b""
    keep: bool = False
    first_frame: tuple[int, bytes] | None = None
    audio_frames: int = 0
    heard: list[bytes] = field(default_factory=list)
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sender = asyncio.create_task(self._send(writer))
        try:
            while True:
                header = await reader.readexactly(3)
                payload = await reader.readexactly(int.from_bytes(header[1:], "big"))
                if self.first_frame is None:
                    self.first_frame = (header[0], payload)
                    self.connected.set()
                elif header[0] == 0x10:
                    self.audio_frames += 1
                    if self.keep:
                        self.heard.append(payload)
                elif header[0] == 0x00:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # Asterisk closes without a 0x00 frame when the call is hung up
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            writer.close()
            self.closed.set()

    async def _send(self, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        sent = 0
        with contextlib.suppress(ConnectionError):
            while True:
                audio = self.play[sent : sent + 320]
                sent += 320
                writer.write(b"\x10\x01\x40" + audio + bytes(320 - len(audio)))
                await writer.drain()
                next_at += 0.02
                await asyncio.sleep(max(0.0, next_at - loop.time()))


AudioSocketServer = Callable[
    ..., contextlib.AbstractAsyncContextManager[tuple[AudioSocketPeer, str]]
]


@contextlib.asynccontextmanager
async def serve_audiosocket_on(
    host: str = "127.0.0.1", port: int = 0, peer: AudioSocketPeer | None = None
) -> AsyncIterator[tuple[AudioSocketPeer, str]]:
    """Serve one AudioSocketPeer (`peer`, or a silent one); yields it and its `host:port`."""
    peer = peer or AudioSocketPeer()
    server = await asyncio.start_server(peer.handle, host, port)
    bound = server.sockets[0].getsockname()
    try:
        yield peer, f"{bound[0]}:{bound[1]}"
    finally:
        server.close()
        # Python 3.12+ also waits for open connections here; never let that hang a test.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 2)
