"""A small in-process AMI server for unit tests: speaks the wire format, scripts the answers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

Fields = dict[str, str | list[str]]
Handler = Callable[["FakeSession", Fields], Awaitable[None] | None]


def encode(message: dict[str, str]) -> bytes:
    return "".join(f"{k}: {v}\r\n" for k, v in message.items()).encode() + b"\r\n"


def parse(block: str) -> Fields:
    fields: Fields = {}
    for line in block.split("\r\n"):
        if ": " not in line:
            continue
        key, value = line.split(": ", 1)
        if key in fields:
            old = fields[key]
            fields[key] = [*old, value] if isinstance(old, list) else [old, value]
        else:
            fields[key] = value
    return fields


@dataclass(eq=False)
class FakeSession:
    server: FakeAmi
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    logged_in: bool = False
    received: list[Fields] = field(default_factory=list)

    def send(self, message: dict[str, str]) -> None:
        if not self.writer.is_closing():
            self.writer.write(encode(message))

    def respond(self, action: Fields, **headers: str) -> None:
        self.send({"Response": "Success", "ActionID": str(action.get("ActionID", "")), **headers})

    def error(self, action: Fields, message: str) -> None:
        self.send(
            {"Response": "Error", "ActionID": str(action.get("ActionID", "")), "Message": message}
        )

    def event(self, name: str, **headers: str) -> None:
        self.send({"Event": name, **headers})

    def close(self) -> None:
        self.writer.close()

    def abort(self) -> None:
        transport = self.writer.transport
        transport.abort()


class FakeAmi:
    """Answers Login (checking the credentials), Ping and, by default, anything with Success.

    `handlers[name]` overrides the answer to an action; `answer_pings = False` makes the
    server ignore pings; `actions` records every action received, over every session.
    """

    def __init__(self, *, username: str, secret: str) -> None:
        self.username = username
        self.secret = secret
        self.handlers: dict[str, Handler] = {}
        self.answer_pings = True
        self.fully_booted = True
        self.sessions: list[FakeSession] = []
        self.actions: list[Fields] = []
        self.logins = 0
        self.failed_logins = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self, port: int = 0) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for session in self.sessions:
            session.abort()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    @property
    def live(self) -> FakeSession | None:
        open_ = [s for s in self.sessions if not s.writer.is_closing()]
        return open_[-1] if open_ else None

    def named(self, action_name: str) -> list[Fields]:
        return [a for a in self.actions if str(a.get("Action", "")).lower() == action_name.lower()]

    def broadcast(self, name: str, **headers: str) -> None:
        for session in self.sessions:
            if session.logged_in:
                session.event(name, **headers)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        session = FakeSession(self, reader, writer)
        self.sessions.append(session)
        writer.write(b"Asterisk Call Manager/9.0.0\r\n")
        try:
            while True:
                block = await reader.readuntil(b"\r\n\r\n")
                action = parse(block.decode())
                self.actions.append(action)
                session.received.append(action)
                await self._answer(session, action)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _answer(self, session: FakeSession, action: Fields) -> None:
        name = str(action.get("Action", "")).lower()
        custom = next((h for k, h in self.handlers.items() if k.lower() == name), None)
        if custom is not None:
            result = custom(session, action)
            if result is not None:
                await result
            return
        if name == "login":
            if action.get("Username") == self.username and action.get("Secret") == self.secret:
                self.logins += 1
                session.logged_in = True
                session.respond(action, Message="Authentication accepted")
                if self.fully_booted:
                    session.event("FullyBooted", Status="Fully Booted")
            else:
                self.failed_logins += 1
                session.error(action, "Authentication failed")
                session.close()
        elif name == "ping":
            if self.answer_pings:
                session.respond(action, Ping="Pong")
        elif name == "coreshowchannels":
            action_id = str(action.get("ActionID", ""))
            session.respond(action, EventList="start", Message="Channels will follow")
            session.event("CoreShowChannelsComplete", ActionID=action_id, EventList="Complete")
        else:
            session.respond(action)
