"""`opendeep serve` as users run it, with one change: an analyzer that is never sure.

`python -m tests.ui.review_node` upgrades the database and serves every part like `opendeep
serve`, with a scripted analyzer (handed to the node, `Node(models=…)`) that reads calls by
the rehearsal's keyword rules but with a confidence under the review threshold — so every call
it reads goes to the owner as a review.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from langchain_core.messages import AIMessage, BaseMessage

from agents.post_call_analyzer.rehearsal import respond
from agents.scripted import ScriptedChatModel
from app.cli import settings_or_exit, upgrade_or_exit
from app.node import PartsWanted
from app.service import run_service

DOUBT = 0.4  # under the review threshold (0.6)


def doubtful(messages: Sequence[BaseMessage]) -> AIMessage:
    """The rehearsal analyzer's reading, with a confidence that asks the owner."""
    reading = respond(messages)
    calls = [{**call, "args": {**call["args"], "confidence": DOUBT}} for call in reading.tool_calls]
    return reading.model_copy(update={"tool_calls": calls})


def main() -> int:
    settings = settings_or_exit()
    upgrade_or_exit(settings)
    analyzer = ScriptedChatModel(script="doubtful", purpose="analyzer", responder=doubtful)
    return asyncio.run(run_service(settings, PartsWanted(), models={"analyzer": analyzer}))


if __name__ == "__main__":
    raise SystemExit(main())
