"""Pure rules: the callee-local window, the pre-dial gate, the retry policy, the pause after
repeated technical failures, the lock after repeated failed sign-ins, a call's caller ID."""

from core.rules.caller_id import CallerIdRefused, allowed_caller_id, caller_id_for_call
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
    "CallerIdRefused",
    "GateFacts",
    "GateVerdict",
    "NextAttempt",
    "RetryPolicy",
    "ThrottlePolicy",
    "ThrottleState",
    "Verdict",
    "Window",
    "allowed_caller_id",
    "caller_id_for_call",
    "decide",
    "next_opening",
    "technical_pause",
]
