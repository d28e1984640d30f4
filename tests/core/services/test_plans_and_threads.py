"""Plans read from the orchestrator's data; chat thread ids belong to one user."""

from __future__ import annotations

import pytest

from core.domain import FeedbackPayload
from core.services import ServiceError, check_chat_thread, new_chat_thread, plan_view


def test_a_plan_is_read_from_a_payload_or_a_plan() -> None:
    data = {
        "name": "Dentists",
        "objective": "Book a cleaning",
        "targets": [{"name": "A", "phone": "+12125550101", "notes": "ask for Sam"}, "B", 3],
        "window_start": "09:00:00",
        "window_end": "12:00:00",
        "stop_rule": "call_everyone",
        "max_attempts": 2,
        "warnings": ["B has no number yet"],
    }
    view = plan_view(FeedbackPayload.read({"plan": data}).plan)
    assert view is not None and view == plan_view(data)
    assert [(t.name, t.phone, t.notes) for t in view.targets] == [
        ("A", "+12125550101", "ask for Sam"),
        ("B", "", ""),
    ]
    assert view.calling_window == "09:00–12:00"
    assert view.stop_rule == "call every target"
    assert view.warnings == ("B has no number yet",)
    assert view.raw["name"] == "Dentists"


@pytest.mark.parametrize("data", [None, {}, {"unrelated": 1}, {"plan": {}}])
def test_no_plan(data: dict[str, object] | None) -> None:
    assert plan_view(data) is None


def test_chat_threads_are_bound_to_their_user() -> None:
    thread = new_chat_thread(7)
    assert thread.startswith("user:7:chat:")
    assert check_chat_thread(7, thread) == thread
    for other in (thread.replace("user:7:", "user:8:"), "user:7:campaign:1", ""):
        with pytest.raises(ServiceError):
            check_chat_thread(7, other)
    with pytest.raises(ServiceError):
        check_chat_thread(8, thread)
