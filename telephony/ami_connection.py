"""`AmiConnection`: one supervised AMI session to Asterisk, on panoramisk.

- Logs in, waits for `FullyBooted`, then reports `connected`.
- Every action is bounded by `asyncio.wait_for` (`AMI_ACTION_TIMEOUT_S`); an action whose
  connection drops fails with `AmiConnectionLost` and is never sent again.
- A `Ping` every `AMI_PING_INTERVAL_S`; an unanswered one marks the session dead.
- Lost or refused sessions are retried forever with capped exponential backoff and jitter;
  a refused login is logged once (never the secret) until a login succeeds again.
- Subscribers get every event as a plain dict, and every state change, so they can reconcile
  what they track after a reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections.abc import Callable, Mapping
from typing import Any

from panoramisk.actions import Action

from core.logging import get_logger
from core.settings import Settings
from telephony.ami_panoramisk import AmiMessage, OneShotProtocol, QuietManager, plain
from telephony.backoff import Backoff
from telephony.errors import (
    AmiActionFailed,
    AmiConnectionLost,
    AmiError,
    AmiLoginRefused,
    AmiNotConnected,
    AmiTimeout,
)

log = get_logger("opendeep.telephony.ami")

# What Asterisk answers to any action, a login included, while it stops or restarts.
SHUTTING_DOWN = "shutting down"

EventHandler = Callable[[AmiMessage], None]
StateHandler = Callable[["AmiState"], None]
ActionFields = Mapping[str, str | list[str]]


class AmiState(enum.StrEnum):
    STOPPED = "stopped"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"


class AmiConnection:
    """A self-healing AMI connection. `start()` returns at once; it connects in the background."""

    def __init__(
        self,
        settings: Settings,
        *,
        backoff: Backoff | None = None,
        boot_wait_s: float | None = None,
    ) -> None:
        self.host = settings.ami_host
        self.port = settings.ami_port
        self._username = settings.ami_username
        self._secret = settings.ami_secret
        self.action_timeout_s = settings.ami_action_timeout_s
        self.ping_interval_s = settings.ami_ping_interval_s
        self._backoff = backoff or Backoff()
        # How long to wait for FullyBooted after login (Asterisk may still be starting).
        self._boot_wait_s = boot_wait_s if boot_wait_s is not None else self.action_timeout_s
        self._manager = QuietManager(host=self.host, port=self.port)
        self._manager.register_event("*", self._on_message)
        self._protocol: OneShotProtocol | None = None
        self._state = AmiState.STOPPED
        self._event_handlers: list[EventHandler] = []
        self._state_handlers: list[StateHandler] = []
        self._run_task: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self._lost_reason = ""
        self._booted = asyncio.Event()
        self._state_changed = asyncio.Event()
        self._reported: str | None = None
        self.problem: str | None = None  # why the last attempt failed ("login refused" …)
        self.sessions = 0  # logins so far; a new value means events may have been missed

    # --- observing -----------------------------------------------------------------------
    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def state(self) -> AmiState:
        return self._state

    @property
    def connected(self) -> bool:
        return self._state is AmiState.CONNECTED

    def on_event(self, handler: EventHandler) -> Callable[[], None]:
        """Call `handler` with every AMI event; returns the function that unsubscribes."""
        self._event_handlers.append(handler)
        return lambda: self._remove(self._event_handlers, handler)

    def on_state(self, handler: StateHandler) -> Callable[[], None]:
        """Call `handler` with every connection state change; returns the unsubscriber."""
        self._state_handlers.append(handler)
        return lambda: self._remove(self._state_handlers, handler)

    async def wait_connected(self, timeout_s: float) -> None:
        """Return once connected; raise `AmiNotConnected` after `timeout_s` s."""
        try:
            async with asyncio.timeout(timeout_s):
                while not self.connected:
                    self._state_changed.clear()
                    await self._state_changed.wait()
        except TimeoutError:
            raise AmiNotConnected(
                f"AMI {self.address} not connected after {timeout_s:g} s ({self._state})"
            ) from None

    # --- life ----------------------------------------------------------------------------
    async def start(self) -> None:
        """Begin connecting in the background (never blocks on Asterisk being up)."""
        if self._run_task is None or self._run_task.done():
            self._run_task = asyncio.create_task(self._run(), name="ami-connection")

    async def stop(self) -> None:
        task, self._run_task = self._run_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._protocol is not None:
            self._protocol.close()
            self._protocol = None
        self._set_state(AmiState.STOPPED)

    def drop(self, reason: str = "dropped on request") -> None:
        """Close the current session; it is reconnected (and reconciled) like any lost one."""
        if self._protocol is not None:
            self._lose(self._protocol, reason)

    # --- actions -------------------------------------------------------------------------
    async def send(self, fields: ActionFields, *, timeout_s: float | None = None) -> AmiMessage:
        """Send one action and return its response; `Response: Error` raises `AmiActionFailed`.

        Raises `AmiNotConnected`, `AmiTimeout` or `AmiConnectionLost`; none of them re-sends.
        """
        result = await self._send_on(self._current(), fields, as_list=False, timeout_s=timeout_s)
        assert isinstance(result, dict)
        return result

    async def send_list(
        self, fields: ActionFields, *, timeout_s: float | None = None
    ) -> list[AmiMessage]:
        """Send an action answered by an event list (e.g. `CoreShowChannels`); return the events
        between the response and the closing `…Complete` event."""
        result = await self._send_on(self._current(), fields, as_list=None, timeout_s=timeout_s)
        messages = result if isinstance(result, list) else [result]
        return [m for m in messages[1:] if not m.get("Event", "").endswith("Complete")]

    def _current(self) -> OneShotProtocol:
        if not self.connected or self._protocol is None:
            raise AmiNotConnected(f"AMI {self.address} is not connected ({self._state})")
        return self._protocol

    async def _send_on(
        self,
        protocol: OneShotProtocol,
        fields: ActionFields,
        *,
        as_list: bool | None,
        timeout_s: float | None,
    ) -> AmiMessage | list[AmiMessage]:
        name = str(fields.get("Action", "?"))
        limit = self.action_timeout_s if timeout_s is None else timeout_s
        action = Action(dict(fields), as_list=as_list)
        future = protocol.send(action, as_list=as_list)
        try:
            response = await asyncio.wait_for(future, limit)
        except TimeoutError:
            raise AmiTimeout(f"AMI {name} got no answer within {limit:g} s") from None
        finally:
            # A timed-out action must not linger; it is cancelled, never re-sent.
            protocol.responses.pop(action.id, None)
        if isinstance(response, list):
            messages = [plain(m) for m in response]
            first = messages[0] if messages else {}
        else:
            messages = []
            first = plain(response)
        if first.get("Response", "").lower() == "error":
            raise AmiActionFailed(name, first.get("Message", ""))
        return messages if isinstance(response, list) else first

    # --- the connection loop -------------------------------------------------------------
    async def _run(self) -> None:
        failures = 0
        while True:
            self._set_state(AmiState.CONNECTING)
            try:
                await self._open()
            except asyncio.CancelledError:
                raise
            except AmiLoginRefused as exc:
                self.problem = "login refused"
                self._report(
                    "login",
                    f"AMI login refused for user {self._username!r} at {self.address} ({exc}); "
                    "check AMI_USERNAME and AMI_SECRET — retrying in the background",
                )
            except (OSError, AmiError) as exc:
                self.problem = "unreachable"
                self._report(
                    "connect",
                    f"AMI {self.address} unreachable ({exc or type(exc).__name__}); "
                    "retrying in the background",
                )
            else:
                failures = 0
                self._reported = None
                self.problem = None
                self.sessions += 1
                log.info("AMI connected", address=self.address, session=self.sessions)
                self._set_state(AmiState.CONNECTED)
                heartbeat = asyncio.create_task(self._heartbeat(), name="ami-heartbeat")
                try:
                    await self._lost.wait()
                finally:
                    heartbeat.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await heartbeat
                log.warning("AMI connection lost", address=self.address, reason=self._lost_reason)
                self._set_state(AmiState.DISCONNECTED)
            await asyncio.sleep(self._backoff.delay(failures))
            failures += 1

    async def _open(self) -> None:
        self._lost.clear()
        self._booted.clear()
        loop = asyncio.get_running_loop()
        try:
            _, protocol = await asyncio.wait_for(
                loop.create_connection(
                    lambda: OneShotProtocol(self._manager, self._lose), self.host, self.port
                ),
                self.action_timeout_s,
            )
        except TimeoutError:
            raise AmiTimeout(f"no TCP connection within {self.action_timeout_s:g} s") from None
        assert isinstance(protocol, OneShotProtocol)
        self._protocol = protocol
        self._manager.protocol = protocol
        self._manager.loop = loop
        try:
            await self._send_on(
                protocol,
                {
                    "Action": "Login",
                    "Username": self._username,
                    "Secret": self._secret.get_secret_value(),
                    "Events": "on",
                },
                as_list=False,
                timeout_s=None,
            )
        except AmiActionFailed as exc:
            protocol.close()
            if SHUTTING_DOWN in exc.message.lower():
                # Asterisk answers every action so while it stops or restarts: not a login
                # problem, and no reason to send the operator to check the secret.
                raise AmiConnectionLost("Asterisk is shutting down") from None
            raise AmiLoginRefused(exc.message or "authentication failed") from None
        except BaseException:
            protocol.close()
            raise
        try:
            await asyncio.wait_for(self._booted.wait(), self._boot_wait_s)
        except TimeoutError:
            # Without `system` read permission Asterisk never sends FullyBooted.
            log.warning(
                "no FullyBooted event after login; going on (does the AMI user lack "
                "`read = system`?)",
                address=self.address,
            )
        if protocol.closed:
            raise AmiConnectionLost("AMI closed the connection right after login")

    async def _heartbeat(self) -> None:
        protocol = self._protocol
        assert protocol is not None
        while not protocol.closed:
            await asyncio.sleep(self.ping_interval_s)
            try:
                await self._send_on(protocol, {"Action": "Ping"}, as_list=False, timeout_s=None)
            except (AmiTimeout, AmiActionFailed) as exc:
                log.warning(
                    "AMI heartbeat failed; reconnecting", address=self.address, error=str(exc)
                )
                self._lose(protocol, f"heartbeat: {exc}")
                return
            except AmiConnectionLost:
                return

    def _lose(self, protocol: OneShotProtocol, exc_or_reason: BaseException | str | None) -> None:
        if protocol is not self._protocol:
            protocol.close()
            return
        protocol.close()
        if not self._lost.is_set():
            if isinstance(exc_or_reason, str):
                self._lost_reason = exc_or_reason
            else:
                self._lost_reason = str(exc_or_reason or "closed by Asterisk")
            self._lost.set()

    def _on_message(self, _manager: Any, message: Any) -> None:
        event = plain(message)
        if event.get("Event") == "FullyBooted":
            self._booted.set()
        for handler in list(self._event_handlers):
            try:
                handler(event)
            except Exception:
                log.exception("AMI event handler failed", ami_event=event.get("Event"))

    # --- helpers -------------------------------------------------------------------------
    def _set_state(self, state: AmiState) -> None:
        if state is self._state:
            return
        self._state = state
        self._state_changed.set()
        for handler in list(self._state_handlers):
            try:
                handler(state)
            except Exception:
                log.exception("AMI state handler failed", state=str(state))

    def _report(self, kind: str, message: str) -> None:
        """Log a failure once per kind until the next success; repeats go to debug."""
        if self._reported == kind:
            log.debug(message)
            return
        self._reported = kind
        if kind == "login":
            log.error(message)
        else:
            log.warning(message)

    @staticmethod
    def _remove(handlers: list[Any], handler: Any) -> None:
        with contextlib.suppress(ValueError):
            handlers.remove(handler)
