"""Resolves an AudioSocket call UUID to its bridge, and keeps the live bridges by UUID.

The registry also owns what the bridges of one process share: the transcript writer and, unless
a `realtime` factory is given, the factory whose clients share one `AsyncOpenAI`. What the
calls' agent says comes from the `script` writer it is built with (the agents layer's).
`expected` holds the UUIDs of the calls being placed: the media part's server serves those only;
`prewarmer` opens a call's Realtime session while its phone rings (`media.prewarm`) and hands it
to the call's bridge at answer; `notes` reads the owners' notes to the calls
(`media.owner_notes`). `lines` holds the lines of the calls up on this node, for their owners to
listen in on.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace

from core.db import Database
from core.logging import get_logger
from core.settings import Settings
from media.audiosocket_server import AudioSocketServer
from media.bridge import RealtimeBridge
from media.call_script import ScriptWriter
from media.call_store import CallStore
from media.call_tools import CallActions
from media.expected_calls import ExpectedCalls
from media.listen import CallLines
from media.owner_leg import OwnerLegs
from media.owner_notes import NoteBoard
from media.prewarm import Prewarmer, call_session_opener
from media.prewarm_machine import PrewarmCounts
from media.realtime_client import RealtimeClientFactory
from media.realtime_session import RealtimeFactory
from media.session import SessionHandler
from media.transcript_writer import TranscriptWriter
from media.voice_check import VoiceCheck

log = get_logger("opendeep.media")

# Finds the call an AudioSocket UUID belongs to (None: no call of ours has it).
CallFinder = Callable[[Database, Settings, uuid.UUID], Awaitable[CallStore | None]]
CALL_ENDED = "the call ended before its session was used"


class BridgeRegistry:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        script: ScriptWriter,
        realtime: RealtimeFactory | None = None,
        actions: CallActions | None = None,
        machine_wait_s: float = 6.0,
        find_call: CallFinder = CallStore.for_uuid,
        lines: CallLines | None = None,
    ) -> None:
        self._db = db
        self._find_call = find_call
        self._settings = settings
        self._script = script
        # A factory passed in belongs to the caller; the one made here is closed by `aclose`.
        self._own_clients: RealtimeClientFactory | None = None
        if realtime is None:
            realtime = self._own_clients = RealtimeClientFactory.from_settings(settings)
        self._realtime = realtime
        self._voice_check = VoiceCheck(self._own_clients) if self._own_clients else None
        self.actions = actions
        self._machine_wait_s = machine_wait_s
        self._transcripts = TranscriptWriter(db)
        self._live: dict[str, RealtimeBridge] = {}
        self.expected = ExpectedCalls()
        self.owner_legs = OwnerLegs(self.expected)  # the owners' legs of calls handed over
        self.lines = lines or CallLines()
        self.prewarmer = Prewarmer(call_session_opener(db, settings, script, realtime))
        self.notes = NoteBoard(db)

    @property
    def clients(self) -> RealtimeClientFactory | None:
        """The Realtime client factory the registry made (None when one was passed in)."""
        return self._own_clients

    @property
    def voice(self) -> str | None:
        """What `calls.voice` says of the calls (the model, or "rehearsal"); None for a
        factory passed in, which is the caller's to describe."""
        return self._own_clients.voice if self._own_clients else None

    async def voice_problem(self) -> str | None:
        """Why a call's voice cannot start now (one line naming the setting), or None."""
        return await self._voice_check.problem() if self._voice_check else None

    async def prewarm_counts(self) -> PrewarmCounts:
        """The sessions this process prewarmed (as `MediaWorkers.prewarm_counts` adds up its
        workers')."""
        return replace(self.prewarmer.counts)

    def start(self) -> None:
        """Start the shared transcript writer (`resolve` does it too, for a registry used
        without `MediaPart`)."""
        self._transcripts.start()

    async def aclose(self) -> None:
        """Close the sessions still prewarmed, store the transcript turns still queued
        (bounded) and close the shared clients."""
        await self.prewarmer.aclose()
        await self.notes.aclose()
        await self._transcripts.aclose()
        if self._own_clients is not None:
            await self._own_clients.aclose()

    def bridge(self, call_uuid: str) -> RealtimeBridge | None:
        """The bridge of a call that is (or was, until it is collected) on this node."""
        return self._live.get(call_uuid)

    def expect(self, call_uuid: str) -> None:
        """Accept this call's AudioSocket connection (once) from now until `forget`: call it
        before the call is placed."""
        self.expected.expect(call_uuid)

    def audiosocket_address(self, call_uuid: str) -> str:
        """Where Asterisk connects the call's AudioSocket: this process's server."""
        return self._settings.audiosocket_address

    def prewarm(self, call_uuid: str, unused_after_s: float) -> None:
        """Open the call's Realtime session now, while its phone rings (its Originate is out),
        unless the settings turn prewarming off; closed unused after `unused_after_s` (the ring
        timeout and the answering-machine detection) unless the call's bridge takes it."""
        if self._settings.realtime_prewarm:
            self.prewarmer.prewarm(call_uuid, unused_after_s)

    def forget(self, call_uuid: str) -> None:
        """The call has ended: its AudioSocket is no longer expected, its bridge is dropped,
        and its prewarmed session, if no bridge took it, is closed."""
        self.expected.forget(call_uuid)
        self._live.pop(call_uuid, None)
        self.prewarmer.discard(call_uuid, CALL_ENDED)

    async def resolve(self, call_uuid: uuid.UUID) -> SessionHandler | None:
        leg = self.owner_legs.take(call_uuid)
        if leg is not None:
            return leg
        store = await self._find_call(self._db, self._settings, call_uuid)
        if store is None:
            log.warning("audiosocket for an unknown call", call_uuid=str(call_uuid))
            return None
        self._transcripts.start()
        bridge = RealtimeBridge(
            store,
            self._settings,
            script=self._script,
            realtime=self._realtime,
            transcripts=self._transcripts,
            actions=self.actions,
            voice=self.voice,
            machine_wait_s=self._machine_wait_s,
            line=self.lines.open(store.user_id, store.call_id),
            prewarmed=self.prewarmer,
            notes=self.notes,
            owner_legs=self.owner_legs,
        )
        self._live[str(call_uuid)] = bridge
        return bridge


class MediaPart:
    """The AudioSocket server as a service part: it serves the allowed PBX addresses only,
    and of their connections only those for calls the registry expects."""

    name = "media"

    def __init__(self, settings: Settings, registry: BridgeRegistry) -> None:
        self.registry = registry
        self._server = AudioSocketServer(
            registry.expected.guard(registry.resolve),
            host=settings.audiosocket_host,
            port=settings.audiosocket_port,
            allowed_peers=settings.audiosocket_allowed_networks,
        )

    def describe(self) -> str:
        return self._server.describe()

    async def start(self) -> None:
        self.registry.start()
        await self._server.start()

    async def stop(self) -> None:
        await self._server.stop()  # ends every call: their bridges flush their turns
        await self.registry.aclose()
