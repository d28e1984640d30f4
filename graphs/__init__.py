"""The LangGraph graphs of OpenDeep and the runner the rest of the system calls them through."""

from graphs.context import GraphContext
from graphs.hitl import BadAnswer, FeedbackNotAwaited, Resumed, answer_feedback
from graphs.runner import Analysis, ChatTurn, GraphRunner, Orchestration
from graphs.threads import ThreadAccessDenied, check_thread_owner, parse_thread_id, thread_id_for

__all__ = [
    "Analysis",
    "BadAnswer",
    "ChatTurn",
    "FeedbackNotAwaited",
    "GraphContext",
    "GraphRunner",
    "Orchestration",
    "Resumed",
    "ThreadAccessDenied",
    "answer_feedback",
    "check_thread_owner",
    "parse_thread_id",
    "thread_id_for",
]
