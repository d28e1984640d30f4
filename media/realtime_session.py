"""Opening and configuring a call's Realtime session: one way for the bridge (at answer) and the
prewarmer (while the phone rings, `media.prewarm`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from core.settings import Settings
from media.call_script import CallScript
from media.realtime_client import RealtimeClient
from media.realtime_events import JsonDict, session_update
from media.turn_settings import noise_reduction, turn_detection

RealtimeFactory = Callable[[], RealtimeClient]


def session_config(
    script: CallScript, settings: Settings, *, instructions: str, respond: bool
) -> JsonDict:
    """The call's `session.update`: its instructions, the node's voice and transcription
    model, the script's tools and turn-taking; `respond`: the server answers each callee turn
    it detects (`media.turn_settings.turn_detection`)."""
    return session_update(
        instructions=instructions,
        voice=settings.realtime_voice,
        tools=script.tools,
        turn_detection=turn_detection(script.turn_taking, respond=respond),
        noise_reduction=noise_reduction(script.turn_taking),
        transcription_model=settings.realtime_transcription_model or None,
    )


async def open_session(factory: RealtimeFactory, config: JsonDict) -> RealtimeClient:
    """A connected client whose session has been sent `config`.

    Raises `RealtimeConfigError` (from the factory) or `RealtimeConnectionError`; whatever
    ends the opening early — those, or a cancellation — closes what it had opened.
    """
    rt = factory()
    try:
        await rt.connect()
        await rt.send(config)
    except BaseException:
        # Shielded: a second cancellation must not leave the connection half closed.
        await asyncio.shield(rt.close())
        raise
    return rt
