"""`opendeep` as users run it, with one more scripted model: `scripted:doubtful`.

`python -m tests.ui.review_node serve` is `opendeep serve`, whose analyzer (with
`ANALYZER_MODEL=scripted:doubtful`) reads calls by the rehearsal's keyword rules but is never
sure of them — so every call it reads goes to the owner as a review.
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import AIMessage, BaseMessage

from agents.post_call_analyzer.rehearsal import respond
from agents.scripted import Responder, register_script
from app.cli import main

DOUBT = 0.4  # under the review threshold (0.6)


def doubtful(messages: Sequence[BaseMessage]) -> AIMessage:
    """The rehearsal analyzer's reading, with a confidence that asks the owner."""
    reading = respond(messages)
    calls = [{**call, "args": {**call["args"], "confidence": DOUBT}} for call in reading.tool_calls]
    return reading.model_copy(update={"tool_calls": calls})


def _script(purpose: str) -> Responder:
    if purpose != "analyzer":
        raise KeyError(f"the doubtful script is only an analyzer, not a {purpose!r}")
    return doubtful


if __name__ == "__main__":
    register_script("doubtful", _script)
    main()
