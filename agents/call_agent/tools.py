"""The in-call tools, as Realtime function tools (JSON Schema parameters)."""

from __future__ import annotations

from media.realtime_events import FunctionTool

END_CALL = FunctionTool(
    name="end_call",
    description="Hang up after you have said goodbye. Give the reason the call ends.",
    parameters={
        "type": "object",
        "properties": {"reason": {"type": "string", "description": "why the call ends"}},
        "required": ["reason"],
    },
)
SEND_DTMF = FunctionTool(
    name="send_dtmf",
    description=(
        "Press keys on the phone keypad, e.g. to choose an option in a phone menu. "
        "Write w for a half-second pause between keys (e.g. 1w1234#)."
    ),
    parameters={
        "type": "object",
        "properties": {
            "digits": {
                "type": "string",
                "pattern": "^w*[0-9*#A-D][0-9*#A-Dw]*$",  # at least one key
                "maxLength": 32,
                "description": "keys 0-9 * # A-D, and w for a half-second pause",
            }
        },
        "required": ["digits"],
    },
)
REQUEST_USER_FEEDBACK = FunctionTool(
    name="request_user_feedback",
    description=(
        "Ask the owner (the person you call on behalf of) for a decision you cannot make alone. "
        "The callee holds "
        "while they answer. Returns their answer, or 'no answer'."
    ),
    parameters={
        "type": "object",
        "properties": {"question": {"type": "string"}},
        "required": ["question"],
    },
)
RECORD_FACT = FunctionTool(
    name="record_fact",
    description="Remember a fact that matters for the goal, with the callee's exact words.",
    parameters={
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "short name, e.g. appointment_time"},
            "value": {"type": "string"},
            "quote": {"type": "string", "description": "the callee's exact words"},
        },
        "required": ["name", "value", "quote"],
    },
)

WAIT_ON_HOLD = FunctionTool(
    name="wait_on_hold",
    description=(
        "Wait in silence. Call it when you are put on hold: asked to hold or to stay on the "
        "line, hold music, a queue's recording, a call-screening service connecting you. Say "
        "nothing after calling it; after each sound on the line you are asked whether a person "
        "is speaking to you."
    ),
    parameters={"type": "object", "properties": {}},
)

TRANSFER_TO_OWNER = FunctionTool(
    name="transfer_to_owner",
    description=(
        "Hand the call over to the owner (the person you call on behalf of): call it when the "
        "person asks to speak to a person, or when the decision needs a conversation with the "
        "owner. First tell them you are connecting them and to stay on the line; say nothing "
        "after calling it. The owner's phone rings; you brief them, and they take the call "
        "over. Returns an error when the owner cannot be rung: then offer a callback."
    ),
    parameters={
        "type": "object",
        "properties": {"reason": {"type": "string", "description": "why the owner is needed"}},
        "required": ["reason"],
    },
)

CALL_TOOLS = (
    END_CALL,
    SEND_DTMF,
    REQUEST_USER_FEEDBACK,
    RECORD_FACT,
    WAIT_ON_HOLD,
    TRANSFER_TO_OWNER,
)
TOOL_NAMES = frozenset(t.name for t in CALL_TOOLS)
