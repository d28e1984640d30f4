"""The rehearsal voice: what the local scripted Realtime server says on each call.

Without a key, OpenDeep's voice is the local Realtime-protocol server (`media.realtime_server`)
playing a script. The script of a call is chosen from the instructions the bridge sends (the
first `session.update`): the demo campaign's targets have their own scripts, matched to the
development PBX's simulated callees; any other call gets the receptionist's — the simulated
person test mode sends every call to (+1 212 555 0101, Anna at a dental office). The callee's
side of the transcript stands in for speech recognition and is the simulated callee's script.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from media.realtime_server import CallTool, Say, Script, ScriptedResponse

DEFAULT_OWNER = "the owner"
# The first lines of `prompts/v1/instructions.md`, with the owner and the target in them.
_BRIEF_HEAD = re.compile(
    r"on behalf of (?P<owner>.+?)\. You are speaking with a real\s+person "
    r"\(or their voicemail\) at (?P<target>.+?)\. Speak naturally",
    re.S,
)
_OBJECTIVE = re.compile(r"Your goal for this call:\n(?P<objective>.+?)\n\n", re.S)

# What the development PBX's receptionist says (asterisk/prompts.txt), in order.
RECEPTIONIST_LINES = (
    "Hello?",
    "Doctor Smith's dental office, this is Anna speaking. How can I help you?",
    "We have an opening Tuesday at nine in the morning. Does that work?",
    "Great, you're booked. Goodbye.",
)


def brief_of(instructions: str) -> tuple[str, str, str]:
    """(owner, target name, objective) read back from rendered instructions; empty strings
    where the instructions do not say."""
    head = _BRIEF_HEAD.search(instructions)
    goal = _OBJECTIVE.search(instructions)
    owner = head.group("owner").strip() if head else ""
    target = head.group("target").strip() if head else ""
    objective = " ".join(goal.group("objective").split()) if goal else ""
    return owner, target, objective


def _note_reply(owner: str) -> str:
    """What the rehearsal voice says after a note from the owner (`Script.note_reply`): a
    scripted voice cannot follow a note, so it shows that the note arrived."""
    return f"I've just had a note from {owner}: $note."


def _greeting(owner: str) -> ScriptedResponse:
    return ScriptedResponse(
        outputs=[Say(text=f"Hi, this is an AI assistant calling on behalf of {owner}.")]
    )


def receptionist_script(owner: str, objective: str) -> Script:
    """A call to the simulated receptionist: the objective, the opening she offers recorded as
    a fact with her words, the booking, goodbye and hang-up."""
    ask = (
        f"Hello! I'm calling about this: {objective.rstrip('.')}."
        if objective
        else "Hello! I'm calling to book an appointment."
    )
    return Script(
        name="receptionist",
        responses=[
            _greeting(owner),
            ScriptedResponse(outputs=[Say(text=ask)]),
            ScriptedResponse(outputs=[Say(text="Do you have anything available?")]),
            ScriptedResponse(
                outputs=[
                    CallTool(
                        name="record_fact",
                        arguments={
                            "name": "appointment",
                            "value": "Tuesday 09:00",
                            "quote": RECEPTIONIST_LINES[2],
                        },
                    )
                ]
            ),
            ScriptedResponse(outputs=[Say(text="Yes, Tuesday at nine works. Please book it.")]),
            ScriptedResponse(
                outputs=[
                    Say(text="Thank you so much. Goodbye!"),
                    CallTool(name="end_call", arguments={"reason": "appointment booked"}),
                ]
            ),
        ],
        caller_transcripts=list(RECEPTIONIST_LINES),
        note_reply=_note_reply(owner),
    )


def demo_scripts(owner: str) -> dict[str, Script]:
    """The demo campaign's scripts (`opendeep rehearse`), by target name: each matches the
    simulated callee of the development PBX that the target's number reaches."""
    return {
        "Bright Smile Dental": Script(
            name="human receptionist",
            responses=[
                _greeting(owner),
                ScriptedResponse(
                    outputs=[
                        Say(
                            text="Hello! I'd like to book a dental cleaning next week, in the morning if possible."
                        )
                    ]
                ),
                ScriptedResponse(
                    outputs=[
                        Say(text=f"One moment please, let me check with {owner}."),
                        CallTool(
                            name="request_user_feedback",
                            arguments={
                                "question": "Bright Smile Dental offers Tuesday at nine in the morning. Shall I book it?"
                            },
                        ),
                    ]
                ),
                ScriptedResponse(
                    outputs=[
                        CallTool(
                            name="record_fact",
                            arguments={
                                "name": "appointment",
                                "value": "Tuesday 09:00",
                                "quote": RECEPTIONIST_LINES[2],
                            },
                        )
                    ]
                ),
                ScriptedResponse(outputs=[Say(text="Tuesday at nine works. Please book it.")]),
                ScriptedResponse(
                    outputs=[
                        Say(text="Thank you so much. Goodbye!"),
                        CallTool(name="end_call", arguments={"reason": "appointment booked"}),
                    ]
                ),
            ],
            caller_transcripts=list(RECEPTIONIST_LINES),
            note_reply=_note_reply(owner),
        ),
        "Harbor Dental": Script(
            name="voicemail",
            responses=[
                ScriptedResponse(
                    outputs=[
                        Say(
                            text=f"Hello, this is an AI assistant calling for {owner} about booking a cleaning. We will try again later. Thank you."
                        )
                    ]
                )
            ],
        ),
        "Quiet Street Dental": Script(
            name="opt-out",
            responses=[
                _greeting(owner),
                ScriptedResponse(
                    outputs=[
                        Say(text="I'm sorry for the trouble. You won't be called again. Goodbye."),
                        CallTool(
                            name="end_call", arguments={"reason": "callee asked not to be called"}
                        ),
                    ]
                ),
            ],
            caller_transcripts=["Please do not call this number again."] * 3,
        ),
        "Busy Bee Dental": Script(
            name="callback",
            responses=[
                _greeting(owner),
                ScriptedResponse(
                    outputs=[
                        Say(text="Of course, I'll call back Thursday after three. Goodbye."),
                        CallTool(name="end_call", arguments={"reason": "callback requested"}),
                    ]
                ),
            ],
            caller_transcripts=["I'm busy now, call me back Thursday after 3 pm."] * 3,
        ),
    }


def handover_replies(owner: str, target: str, objective: str) -> dict[str, ScriptedResponse]:
    """What the rehearsal voice says when the call is handed over (`Script.replies`, keyed by
    words of each response's instructions in `prompts/v1`): to the callee when the owner asks
    to be called in, its brief to the owner on their own leg, and to the callee when the owner
    does not come or a transfer could not be made."""
    about = f" about this: {objective.rstrip('.')}" if objective else ""
    where = target or "the person I called"
    return {
        "is joining this call now": ScriptedResponse(
            outputs=[
                Say(text=f"One moment, I'm connecting you to {owner}. Please stay on the line.")
            ]
        ),
        "on their own phone": ScriptedResponse(
            outputs=[
                Say(
                    text=f"Hi {owner}, this is your assistant. I'm on the line with {where}{about}."
                    " They're waiting for you. Connecting you now."
                )
            ]
        ),
        "could not come to the phone": ScriptedResponse(
            outputs=[Say(text=f"I'm sorry, {owner} can't come to the phone. We'll call you back.")]
        ),
        "the call could not be transferred": ScriptedResponse(
            outputs=[Say(text="I'm sorry, I couldn't transfer you. We'll call you back.")]
        ),
    }


def rehearsal_script(instructions: str) -> Script:
    """The script of one call, from the instructions its agent was given."""
    owner, target, objective = brief_of(instructions)
    owner = owner or DEFAULT_OWNER
    demo = demo_scripts(owner).get(target)
    script = demo if demo is not None else receptionist_script(owner, objective)
    return script.model_copy(update={"replies": handover_replies(owner, target, objective)})


def script_selector(
    scripts: dict[str, Script] | None = None,
) -> Callable[[str], Script | None]:
    """For `RealtimeTestServer(select_script=…)`: `scripts` by target name when given (tests),
    else `rehearsal_script`."""
    if scripts is None:
        return rehearsal_script

    def select(instructions: str) -> Script | None:
        _, target, _ = brief_of(instructions)
        return scripts.get(target) or next(
            (s for name, s in scripts.items() if name in instructions), None
        )

    return select
