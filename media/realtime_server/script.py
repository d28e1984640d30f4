"""The script that drives the local Realtime server's responses.

Each response the server is asked for (by the client's `response.create`, or by server VAD at the
end of a caller turn) plays the next `ScriptedResponse`: one or more outputs, each either speech
(`say`) or a tool call (`call`), like a real model's response may hold a message and a function
call. `caller_transcripts` stand in for input transcription (there is no ASR here), used in order.

JSON form::

    {"name": "dentist",
     "responses": [
        {"outputs": [{"type": "say", "text": "Hi, ..."}]},
        {"outputs": [{"type": "say", "text": "One moment."},
                     {"type": "call", "name": "request_user_feedback",
                      "arguments": {"question": "Tuesday 9:30 or Thursday 10:00?"}}]}],
     "caller_transcripts": ["Bright Smile Dental, how can I help?"]}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class Say(BaseModel):
    """Speech: `text` is the transcript; the audio is a tone pattern, or `audio_file` (a 16-bit
    PCM WAV, any rate, mono or stereo; relative paths are read beside the script file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["say"] = "say"
    text: str = Field(min_length=1)
    audio_file: Path | None = None


class CallTool(BaseModel):
    """A function call with JSON `arguments`; the server then waits for the client's
    `function_call_output` and `response.create`. `raw_arguments`, when set, is sent verbatim
    instead — e.g. JSON cut off, as a model stopped by its token limit sends it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["call"] = "call"
    name: str = Field(min_length=1)
    arguments: dict[str, Any] = Field(default_factory=dict)
    raw_arguments: str | None = None

    def arguments_text(self) -> str:
        return self.raw_arguments if self.raw_arguments is not None else json.dumps(self.arguments)


Output = Annotated[Say | CallTool, Field(discriminator="type")]


class ScriptedResponse(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    outputs: list[Output] = Field(min_length=1)


class Script(BaseModel):
    """`note_reply`: what the agent says first in its next response after the client adds a
    `system` message (a model acting on new context); `$note` is the message's last line, which
    is where OpenDeep's bridge puts the owner's words. None: such messages are only recorded.
    `replies`: what a `response.create` whose instructions contain a key is answered with (a
    model following that response's instructions), instead of the next scripted response, which
    stays next."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "script"
    responses: list[ScriptedResponse] = Field(default_factory=list)
    caller_transcripts: list[str] = Field(default_factory=list)
    note_reply: str | None = Field(default=None, min_length=1)
    replies: dict[str, ScriptedResponse] = Field(default_factory=dict)
    base_dir: Path | None = Field(default=None, exclude=True)  # where `audio_file`s are read


class ScriptError(ValueError):
    """A script file cannot be read or is not a valid script; the message names the file."""


def load_script(path: str | Path) -> Script:
    """Read a JSON script; raises `ScriptError` naming the file and the first problem."""
    file = Path(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScriptError(f"cannot read script {file}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise ScriptError(f"script {file} is not JSON: {exc}") from None
    try:
        script = Script.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ScriptError(f"script {file}: {where}: {first['msg']}") from None
    return script.model_copy(update={"base_dir": file.resolve().parent})


def demo_script() -> Script:
    """A dentist-booking call, the rehearsal default: greeting, a question for the owner while
    the callee waits, the booking, a recorded fact, goodbye and hang-up."""
    return Script(
        name="dentist-booking",
        responses=[
            ScriptedResponse(
                outputs=[
                    Say(
                        text="Hi, this is an AI assistant calling on behalf of Alex Morgan. "
                        "I'd like to book a dental cleaning next week, mornings if possible. "
                        "Do you have anything available?"
                    )
                ]
            ),
            ScriptedResponse(
                outputs=[
                    Say(text="Thank you. One moment please, let me check which suits Alex."),
                    CallTool(
                        name="request_user_feedback",
                        arguments={
                            "question": "Bright Smile Dental offers Tuesday 9:30 or Thursday "
                            "10:00 next week. Which one should I book?"
                        },
                    ),
                ]
            ),
            ScriptedResponse(
                outputs=[
                    Say(
                        text="Tuesday at nine thirty works. Could you book it under "
                        "Alex Morgan, please?"
                    )
                ]
            ),
            ScriptedResponse(
                outputs=[
                    CallTool(
                        name="record_fact",
                        arguments={
                            "key": "appointment",
                            "value": "Tuesday 9:30, dental cleaning, Bright Smile Dental",
                        },
                    )
                ]
            ),
            ScriptedResponse(
                outputs=[
                    Say(text="Wonderful, thank you so much for your help. Goodbye!"),
                    CallTool(name="end_call", arguments={"reason": "appointment booked"}),
                ]
            ),
        ],
        # The agent speaks first (the bridge sends `response.create` on answer); each caller
        # turn then triggers the next response through server VAD.
        caller_transcripts=[
            "Sure, let me look. We have Tuesday at nine thirty or Thursday at ten.",
            "You're all set for Tuesday at nine thirty under Alex Morgan.",
            "Bye now.",
        ],
    )
