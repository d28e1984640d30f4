"""A local server speaking the OpenAI Realtime GA protocol, for tests, benchmarks and offline
rehearsals (see `connection` for the events it implements)."""

from media.realtime_server.connection import (
    CallerTurn,
    ScriptedTranscriber,
    Transcriber,
)
from media.realtime_server.record import (
    ConnectionRecord,
    FunctionOutput,
    ItemMessage,
    Truncation,
)
from media.realtime_server.responses import SimOptions
from media.realtime_server.script import (
    CallTool,
    Say,
    Script,
    ScriptedResponse,
    ScriptError,
    demo_script,
    load_script,
)
from media.realtime_server.server import RealtimeTestServer

__all__ = [
    "CallTool",
    "CallerTurn",
    "ConnectionRecord",
    "FunctionOutput",
    "ItemMessage",
    "RealtimeTestServer",
    "Say",
    "Script",
    "ScriptError",
    "ScriptedResponse",
    "ScriptedTranscriber",
    "SimOptions",
    "Transcriber",
    "Truncation",
    "demo_script",
    "load_script",
]
