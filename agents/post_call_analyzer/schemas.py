"""What the analyzer model is asked to fill in (the checked result is `agents.schemas.CallAnalysis`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from agents.schemas import Outcome

# The next steps the model may propose (cancelling a target is the owner's decision alone).
ProposedStep = Literal["done", "retry_at", "call_back_at", "ask_owner", "cancel_siblings"]


class ReportedFact(BaseModel):
    """A fact learnt on the call, with the callee's (or agent's) exact words."""

    name: str = Field(description="What the fact is about, e.g. 'appointment' or 'price'.")
    value: str = Field(description="The fact itself, e.g. 'Tuesday 9:30 with Dr. Lee'.")
    quote: str = Field(description="Verbatim words from the transcript that support it.")


class AnalyzerOutput(BaseModel):
    """Your analysis of one phone call."""

    outcome: Outcome = Field(description="What happened on the call.")
    goal_achieved: bool = Field(description="True only if the objective was fully achieved.")
    summary: str = Field(description="Two or three sentences for the owner.")
    facts: list[ReportedFact] = Field(default_factory=list)
    callback_phrase: str | None = Field(
        None, description="The callee's exact words asking to be called back, if any."
    )
    callback_local_time: str | None = Field(
        None,
        description="That callback time as YYYY-MM-DDTHH:MM in the callee's local time, if you "
        "can tell.",
    )
    proposed_next_step: ProposedStep = Field(
        description="done, retry_at, call_back_at, ask_owner (a decision only the owner can "
        "make) or cancel_siblings (goal met, stop calling the others)."
    )
    owner_question: str | None = Field(
        None, description="With ask_owner: the question to put to the owner."
    )
    confidence: float = Field(ge=0.0, le=1.0, description="How sure you are, 0..1.")
