"""The LangGraph graphs of OpenDeep and the runner the rest of the system calls them through."""

from graphs.context import GraphContext
from graphs.hitl import (
    BadAnswer,
    FeedbackNotAwaited,
    Resumed,
    ThreadAccessDenied,
    answer_feedback,
    check_thread_owner,
    parse_thread_id,
    thread_id_for,
)
from graphs.runner import Analysis, ChatTurn, GraphRunner, Orchestration

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
