"""A thin async wrapper over the official SDK's GA Realtime connection.

`AsyncOpenAI(api_key=…, websocket_base_url=…)` then `client.realtime.connect(model=…)`: the same
code talks to OpenAI or to a local Realtime-protocol server (`media.realtime_server`), only the
base URL differs. Both directions skip the SDK's per-event type handling, which matters at 50
audio events a second each way: events go out as the wire-shaped dicts built by
`media.realtime_events`, serialized with `json.dumps` and sent as a raw text frame (`send_raw`:
the SDK's `send` first walks each dict with `async_maybe_transform`, ~50× the cost of the dump);
events come in as raw JSON (`recv_bytes`) and are typed by `read_server_event`. Every network
wait is bounded, with `asyncio.timeout` rather than `wait_for`: on Python 3.11 `wait_for` runs
the wait in a task of its own (a loop hop per event) and swallows a cancellation that arrives as
the wait completes, which left a call's event pump running after the call had ended.

A media process makes its clients with one `RealtimeClientFactory`, which shares one `AsyncOpenAI`
between all calls (each one loads the CA bundle: ~27 ms of CPU per call set-up otherwise).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urlsplit

from openai import AsyncOpenAI
from websockets.exceptions import ConnectionClosed, ConnectionClosedOK

from media.realtime_events import ServerEvent, read_server_event

if TYPE_CHECKING:
    from openai.resources.realtime.realtime import AsyncRealtimeConnection

    from core.settings import Settings

OPENAI_HOST = "api.openai.com"
_LOCAL_KEY = "local-realtime-server"  # the SDK insists on a key; a local server takes any


class RealtimeConnectionError(Exception):
    """Connecting failed, the connection broke, or a wait on it timed out."""


class RealtimeConfigError(ValueError):
    """The settings cannot reach a Realtime server (e.g. OpenAI without a key)."""


def _sdk_key(base_url: str, api_key: str) -> str:
    """The key to give the SDK: OpenAI needs the real one; a local server takes any."""
    if api_key:
        return api_key
    if urlsplit(base_url).hostname == OPENAI_HOST:
        raise RealtimeConfigError(
            f"OPENAI_API_KEY is empty but REALTIME_URL is {base_url!r}: set the key, or "
            "point REALTIME_URL at a local Realtime server for a rehearsal"
        )
    return _LOCAL_KEY


@dataclass(frozen=True, slots=True)
class RealtimeTimeouts:
    connect_s: float = 10.0
    send_s: float = 5.0
    idle_s: float | None = 300.0  # longest quiet spell on the receive side before giving up
    close_s: float = 3.0


class RealtimeClient:
    """One Realtime session: `async with RealtimeClient(...) as rt: await rt.send(event)`.

    Standalone it makes its own SDK client at `connect` and closes it at `close`; from a
    `RealtimeClientFactory` it uses the factory's shared one (`sdk`) and leaves it open.
    """

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str = "",
        timeouts: RealtimeTimeouts | None = None,
        sdk: Callable[[], AsyncOpenAI] | None = None,
    ) -> None:
        self.base_url = base_url
        self.model = model
        self._api_key = _sdk_key(base_url, api_key)
        self._timeouts = timeouts or RealtimeTimeouts()
        self._shared_sdk = sdk
        self._client: AsyncOpenAI | None = None  # only a client of our own, closed by `close`
        self._conn: AsyncRealtimeConnection | None = None

    async def connect(self) -> None:
        """Open the WebSocket; raises `RealtimeConnectionError` on failure or timeout."""
        if self._conn is not None:
            return
        own: AsyncOpenAI | None = None
        if self._shared_sdk is not None:
            client = self._shared_sdk()
        else:
            client = own = AsyncOpenAI(api_key=self._api_key, websocket_base_url=self.base_url)
        try:
            manager = client.realtime.connect(model=self.model)
            self._conn = await asyncio.wait_for(manager.enter(), self._timeouts.connect_s)
        except TimeoutError:
            if own is not None:
                await own.close()
            raise RealtimeConnectionError(
                f"no Realtime connection to {self.base_url} within {self._timeouts.connect_s} s"
            ) from None
        except Exception as exc:
            if own is not None:
                await own.close()
            raise RealtimeConnectionError(
                f"cannot connect to Realtime server {self.base_url}: {exc}"
            ) from exc
        self._client = own

    async def close(self) -> None:
        """Close the connection, and the SDK client if it is this client's own; safe to call
        twice."""
        conn, self._conn = self._conn, None
        client, self._client = self._client, None
        if conn is not None:
            with contextlib.suppress(TimeoutError, ConnectionClosed, OSError):
                await asyncio.wait_for(conn.close(), self._timeouts.close_s)
        if client is not None:
            await client.close()

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _connection(self) -> AsyncRealtimeConnection:
        if self._conn is None:
            raise RealtimeConnectionError("not connected")
        return self._conn

    async def send(self, event: Mapping[str, Any]) -> None:
        """Send one client event (a dict from `media.realtime_events`), within `send_s`."""
        conn = self._connection()
        try:
            async with asyncio.timeout(self._timeouts.send_s):
                await conn.send_raw(json.dumps(event))
        except TimeoutError:
            raise RealtimeConnectionError(
                f"sending {event.get('type')!r} took longer than {self._timeouts.send_s} s"
            ) from None
        except ConnectionClosed as exc:
            raise RealtimeConnectionError(f"connection closed while sending: {exc}") from exc

    async def recv(self) -> ServerEvent | None:
        """The next server event, or None once the server closed the connection normally.

        Raises `RealtimeConnectionError` on an abnormal close or when nothing arrived within
        `idle_s`. A message that is not a valid event comes back as `MalformedEvent`: one bad
        message from the server does not end the session.
        """
        conn = self._connection()
        try:
            async with asyncio.timeout(self._timeouts.idle_s):
                raw = await conn.recv_bytes()
        except TimeoutError:
            raise RealtimeConnectionError(
                f"no event from the Realtime server for {self._timeouts.idle_s} s"
            ) from None
        except ConnectionClosedOK:
            return None
        except ConnectionClosed as exc:
            raise RealtimeConnectionError(f"Realtime connection lost: {exc}") from exc
        return read_server_event(raw)

    async def events(self) -> AsyncIterator[ServerEvent]:
        """Server events until the connection closes normally (see `recv` for the errors)."""
        while (event := await self.recv()) is not None:
            yield event


class RealtimeClientFactory:
    """Makes the `RealtimeClient` of each call; all of them share one `AsyncOpenAI`, created on
    first use. Call it like a `RealtimeFactory`; `aclose()` at shutdown."""

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str = "",
        timeouts: RealtimeTimeouts | None = None,
    ) -> None:
        # The key is checked when a client is made (`RealtimeConfigError`), not here, so that a
        # node without a key still starts and its calls fail with a clear message.
        self.base_url = base_url
        self.model = model
        # What `calls.voice` says of the calls it carries: the model, or "rehearsal" when the
        # node's own scripted voice serves them (`media.rehearsal_voice`).
        self.voice = model
        self._api_key = api_key
        self._timeouts = timeouts
        self._sdk: AsyncOpenAI | None = None
        self._retired: list[AsyncOpenAI] = []  # made for an earlier base_url; closed at aclose

    @classmethod
    def from_settings(cls, settings: Settings, *, timeouts: RealtimeTimeouts | None = None) -> Self:
        """A factory for `settings.realtime_url` / `realtime_model` / `openai_api_key`."""
        return cls(
            base_url=settings.realtime_url,
            model=settings.realtime_model,
            api_key=settings.openai_api_key.get_secret_value(),
            timeouts=timeouts,
        )

    def config_problem(self) -> str | None:
        """Why no client can be made with these settings (one line naming the setting), or
        None."""
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            return f"REALTIME_URL {self.base_url!r} is not a ws:// or wss:// URL"
        try:
            _sdk_key(self.base_url, self._api_key)
        except RealtimeConfigError as exc:
            return str(exc)
        return None

    def __call__(self) -> RealtimeClient:
        """A new, unconnected client; raises `RealtimeConfigError` for OpenAI without a key."""
        return RealtimeClient(
            base_url=self.base_url,
            model=self.model,
            api_key=self._api_key,
            timeouts=self._timeouts,
            sdk=self._shared_sdk,
        )

    def _shared_sdk(self) -> AsyncOpenAI:
        # `base_url` may be changed (the rehearsal voice points it at its own server): the
        # shared SDK client follows it; the one it replaces may still carry calls.
        if self._sdk is not None and str(self._sdk.websocket_base_url) != self.base_url:
            self._retired.append(self._sdk)
            self._sdk = None
        if self._sdk is None:
            key = _sdk_key(self.base_url, self._api_key)
            self._sdk = AsyncOpenAI(api_key=key, websocket_base_url=self.base_url)
        return self._sdk

    async def aclose(self) -> None:
        """Close the shared SDK clients (open connections are the calls' to close); a later
        client makes a new one."""
        sdks = [*self._retired, *([self._sdk] if self._sdk is not None else [])]
        self._sdk, self._retired = None, []
        for sdk in sdks:
            await sdk.close()
