"""The post-call analyzer: prompts, the model's output schema and the rules that check it."""

from agents.post_call_analyzer.callback_time import read_local_time, resolve_callback
from agents.post_call_analyzer.next_step import (
    decide_next_step,
    outcome_from_telephony,
    review_reasons,
)
from agents.post_call_analyzer.owner_reply import (
    BUTTONS,
    EXAMPLES,
    Callee,
    OwnerAction,
    OwnerStep,
    Unread,
    read_answer,
    read_button,
    read_instruction,
)
from agents.post_call_analyzer.quotes import check_facts, normalize, quote_supported
from agents.post_call_analyzer.schemas import AnalyzerOutput, ReportedFact

__all__ = [
    "BUTTONS",
    "EXAMPLES",
    "AnalyzerOutput",
    "Callee",
    "OwnerAction",
    "OwnerStep",
    "ReportedFact",
    "Unread",
    "check_facts",
    "decide_next_step",
    "normalize",
    "outcome_from_telephony",
    "quote_supported",
    "read_answer",
    "read_button",
    "read_instruction",
    "read_local_time",
    "resolve_callback",
    "review_reasons",
]
