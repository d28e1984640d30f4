"""When the model is asked to go on after tool calls, event by event: once per response, after
every output, never while a response runs, never after end_call."""

from __future__ import annotations

from media.tool_turns import ToolTurns


def test_two_tools_in_one_response_lead_to_one_ask_after_both_outputs() -> None:
    t = ToolTurns()
    t.response_created("r1")
    t.function_call("r1", "c1")
    t.function_call("r1", "c2")
    assert t.response_done("r1") is False  # outputs still running
    assert t.output_sent("c1") is False  # c2 is not in yet
    assert t.output_sent("c2") is True  # now, once
    assert t.output_sent("c2") is False
    assert t.response_done("r1") is False


def test_outputs_before_the_response_is_done_wait_for_it() -> None:
    t = ToolTurns()
    t.response_created("r1")
    t.function_call("r1", "c1")
    assert t.output_sent("c1") is False  # more calls may still join r1
    t.function_call("r1", "c2")
    assert t.output_sent("c2") is False
    assert t.response_done("r1") is True


def test_no_ask_while_our_ask_is_in_flight_and_a_new_batch_is_asked_for_after_it() -> None:
    t = ToolTurns()
    t.response_created("r1")
    t.function_call("r1", "c1")
    t.response_done("r1")
    assert t.output_sent("c1") is True
    t.response_created("r2")  # ours
    t.function_call("r2", "c2")
    assert t.response_done("r2") is False
    assert t.output_sent("c2") is True


def test_a_response_running_when_the_last_output_arrives_is_waited_for() -> None:
    t = ToolTurns()
    t.response_created("r1")
    t.function_call("r1", "ask-owner")
    t.response_done("r1")
    t.speech_started()  # the callee says "sure" while the owner is asked
    t.response_created("r2")  # the server answers their turn
    assert t.output_sent("ask-owner") is False  # r2 is speaking; r2 did not see the answer
    assert t.response_done("r2") is True  # now the model relays the owner's answer


def test_a_response_the_server_creates_after_the_outputs_makes_the_ask_unnecessary() -> None:
    t = ToolTurns()
    t.response_created("r1")
    t.function_call("r1", "c1")
    t.speech_started()  # barge-in: r1 is cancelled, the callee is talking
    assert t.response_done("r1") is False
    assert t.output_sent("c1") is False  # the server will answer the callee's turn
    t.response_created("r2")  # created after the output: it sees it
    assert t.response_done("r2") is False  # nothing more to ask


def test_a_turn_that_ends_while_a_response_is_in_progress_holds_no_ask_back() -> None:
    """With interrupt_response off the server creates no response for a turn that ends while
    the model is responding: the ask after the outputs does not wait for one."""
    t = ToolTurns()
    t.response_created("r1")
    t.speech_started()  # "mm-hm" over r1, which goes on
    assert t.speech_stopped(answered=True) is False  # r1 still runs
    t.function_call("r1", "c1")
    assert t.response_done("r1") is False
    assert t.output_sent("c1") is True


def test_a_turn_that_ends_with_no_response_in_progress_waits_for_the_servers() -> None:
    t = ToolTurns()
    t.response_created("r1")
    t.function_call("r1", "c1")
    t.response_done("r1")
    t.speech_started()
    assert t.speech_stopped(answered=True) is False  # the server answers it
    assert t.output_sent("c1") is False
    t.response_created("r2")
    assert t.response_done("r2") is False


def test_a_turn_the_server_does_not_answer_holds_no_ask_back() -> None:
    t = ToolTurns()
    t.response_created("r1")
    t.function_call("r1", "c1")
    t.response_done("r1")
    t.speech_started()
    assert t.output_sent("c1") is False  # the callee is talking
    assert t.speech_stopped(answered=False) is True  # create_response off: nobody else asks


def test_end_call_among_the_tools_means_no_ask() -> None:
    t = ToolTurns()
    t.response_created("r1")
    t.function_call("r1", "fact")
    t.function_call("r1", "end")
    t.response_done("r1")
    assert t.output_sent("fact") is False
    assert t.output_sent("end", then="end") is False
    t.response_created("r2")
    t.function_call("r2", "late")
    t.response_done("r2")
    assert t.output_sent("late") is False  # the call is ending


def test_wait_on_hold_among_the_tools_means_no_ask_for_that_response_only() -> None:
    t = ToolTurns()
    t.response_created("r1")
    t.function_call("r1", "fact")
    t.function_call("r1", "hold")
    t.response_done("r1")
    assert t.output_sent("fact") is False
    assert t.output_sent("hold", then="wait") is False  # the agent waits in silence
    assert t.asking is False
    t.asked()  # a hold check, after a sound on the line
    assert t.asking is True
    t.response_created("r2")
    t.function_call("r2", "fact-2")  # a person came back: the agent records what they said
    t.response_done("r2")
    assert t.output_sent("fact-2") is True  # and goes on: waiting ended nothing


def test_a_refused_ask_is_repeated_once_the_active_response_is_done() -> None:
    t = ToolTurns()
    t.response_created("r1")
    t.function_call("r1", "c1")
    t.response_done("r1")
    assert t.output_sent("c1") is True
    # The server created a response for a callee turn just before ours arrived: its
    # response.created comes first (taken for ours), then the refusal of ours.
    t.response_created("r2")
    assert t.create_refused() is False  # r2 is still speaking
    assert t.response_done("r2") is True
    t.response_created("r3")
    assert t.response_done("r3") is False  # asked once, not again


def test_the_bridges_own_ask_is_not_repeated_when_refused() -> None:
    t = ToolTurns()
    t.asked()  # the greeting
    assert t.create_refused() is False
    t.response_created("r1")
    assert t.response_done("r1") is False


def test_an_output_for_an_unknown_call_changes_nothing() -> None:
    t = ToolTurns()
    assert t.output_sent("from-a-dropped-session") is False
    assert t.active_response is None
