"""Pure calling rules: the callee-local window, the pre-dial gate, the retry policy, the
pause after repeated technical failures."""

from core.rules.calling_window import Window, next_opening
from core.rules.dial_gate import GateFacts, GateVerdict, Verdict, decide
from core.rules.retry_policy import NextAttempt, RetryPolicy
from core.rules.technical_pause import PAUSE_AFTER, technical_pause

__all__ = [
    "PAUSE_AFTER",
    "GateFacts",
    "GateVerdict",
    "NextAttempt",
    "RetryPolicy",
    "Verdict",
    "Window",
    "decide",
    "next_opening",
    "technical_pause",
]
