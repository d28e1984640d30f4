"""Pure rules: the callee-local window, the pre-dial gate, the retry policy, the pause after
repeated technical failures, the lock after repeated failed sign-ins."""

from core.rules.calling_window import Window, next_opening
from core.rules.dial_gate import GateFacts, GateVerdict, Verdict, decide
from core.rules.retry_policy import NextAttempt, RetryPolicy
from core.rules.sign_in_throttle import (
    ADDRESS_POLICY,
    USER_POLICY,
    ThrottlePolicy,
    ThrottleState,
)
from core.rules.technical_pause import PAUSE_AFTER, technical_pause

__all__ = [
    "ADDRESS_POLICY",
    "PAUSE_AFTER",
    "USER_POLICY",
    "GateFacts",
    "GateVerdict",
    "NextAttempt",
    "RetryPolicy",
    "ThrottlePolicy",
    "ThrottleState",
    "Verdict",
    "Window",
    "decide",
    "next_opening",
    "technical_pause",
]
