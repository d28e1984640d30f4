"""Pure calling rules: the callee-local window, the pre-dial gate, the retry policy."""

from core.rules.calling_window import Window, next_opening
from core.rules.dial_gate import GateFacts, GateVerdict, Verdict, decide
from core.rules.retry_policy import NextAttempt, RetryPolicy

__all__ = [
    "GateFacts",
    "GateVerdict",
    "NextAttempt",
    "RetryPolicy",
    "Verdict",
    "Window",
    "decide",
    "next_opening",
]
