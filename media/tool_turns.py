"""When to ask the model for its next response after tool calls: once, after every output.

A Realtime response may hold several function calls (a fact and another fact; a question for
the owner). Each is answered with a `function_call_output`, and the model goes on only when
asked with `response.create`. Asking after each output would start a response that has not
seen the other outputs, and the next ask would be refused ("the conversation already has an
active response"). So the outputs of one response are collected, and one `response.create`
follows once the response is done and every output is in — unless `end_call` was among them
(nothing is asked for ever after), or `wait_on_hold` (the agent waits in silence: the next ask
comes from the hold, after a sound on the line).

A response already running, or one the server is about to create for a callee turn (server VAD
creates it when the callee stops), sees outputs sent before it started: the ask waits for it to
end, and is dropped if a response created after the outputs made it unnecessary. The server
creates that response only if it answers turns (`create_response`) and no response is in
progress as the turn ends: with `interrupt_response` off it creates none while the model is
responding. A turn it leaves unanswered holds no ask back.

Pure state, fed the events in order. A method returning True means "send `response.create`
now" (and counts it as sent); the bridge reports its own asks with `asked()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Asker = Literal["tools", "other"]
Then = Literal["go_on", "wait", "end"]
"""What follows a tool's output: `go_on` — ask the model to go on once every output of its
response is in; `wait` — no ask for that response (the agent waits on hold); `end` — the call
ends, the model is never asked again."""
_WEIGHT: dict[Then, int] = {"go_on": 0, "wait": 1, "end": 2}


@dataclass(slots=True)
class _Batch:
    """The tool calls of one response."""

    pending: set[str] = field(default_factory=set)
    done: bool = False  # its response.done arrived: no more calls will join
    then: Then = "go_on"  # the strongest of its outputs' (end over wait over go_on)


class ToolTurns:
    """Tracks responses and tool calls; says when the model should be asked to go on."""

    def __init__(self) -> None:
        self._batches: dict[str, _Batch] = {}  # response id → its tool calls
        self._batch_of: dict[str, str] = {}  # call id → response id
        self._active: str | None = None
        self._asked: Asker | None = None  # a response.create of ours awaits response.created
        self._last_ask: Asker | None = None  # what our latest response.create was for
        self._owed = False  # every output of a batch is in; the model has not been asked yet
        self._callee_turn = False  # the callee spoke; the server will create the next response
        self._ending = False  # end_call was answered: the model is never asked to go on

    @property
    def active_response(self) -> str | None:
        """The response in progress, if any."""
        return self._active

    @property
    def asking(self) -> bool:
        """A `response.create` of ours awaits its `response.created`."""
        return self._asked is not None

    # --- server events ------------------------------------------------------------------

    def response_created(self, response_id: str) -> None:
        self._active = response_id
        self._callee_turn = False
        if self._asked is None:
            # The server made it (a callee turn): it sees every output sent before it.
            self._owed = False
        self._asked = None

    def response_done(self, response_id: str) -> bool:
        if self._active == response_id:
            self._active = None
        batch = self._batches.get(response_id)
        if batch is not None:
            batch.done = True
        return self._settle()

    def function_call(self, response_id: str, call_id: str) -> None:
        """The model called a tool in `response_id` (before that response's `response.done`)."""
        self._batches.setdefault(response_id, _Batch()).pending.add(call_id)
        self._batch_of[call_id] = response_id

    def speech_started(self) -> None:
        """Server VAD heard the callee: the response for their turn will come from the server."""
        self._callee_turn = True

    def speech_stopped(self, *, answered: bool) -> bool:
        """Server VAD heard the callee stop; `answered`: the server answers turns now. With a
        response in progress it creates none for this turn."""
        if not answered or self._active is not None:
            self._callee_turn = False
        return self._settle()

    def create_refused(self) -> bool:
        """Our latest `response.create` was refused: a response was active after all (its
        `response.created`, taken for ours, came first). The tools' ask is made again once the
        response in progress is done."""
        if self._last_ask == "tools" and not self._ending:
            self._owed = True
        self._asked = self._last_ask = None
        return self._settle()

    # --- what the bridge did ------------------------------------------------------------

    def output_sent(self, call_id: str, *, then: Then = "go_on") -> bool:
        """The tool's output went out; `then` says what follows it (see `Then`)."""
        response_id = self._batch_of.pop(call_id, None)
        batch = self._batches.get(response_id) if response_id is not None else None
        if batch is not None:
            batch.pending.discard(call_id)
            batch.then = max(batch.then, then, key=_WEIGHT.__getitem__)
        return self._settle()

    def asked(self) -> None:
        """The bridge sent a `response.create` of its own (greeting, voicemail message,
        resuming after a dropped line)."""
        self._asked = self._last_ask = "other"

    # --- the rule -----------------------------------------------------------------------

    def _settle(self) -> bool:
        for response_id, batch in list(self._batches.items()):
            if batch.done and not batch.pending:
                del self._batches[response_id]
                self._ending = self._ending or batch.then == "end"
                self._owed = batch.then == "go_on" and not self._ending
        due = (
            self._owed
            and not self._ending
            and self._active is None
            and self._asked is None
            and not self._callee_turn
        )
        if due:  # the caller sends it now
            self._owed = False
            self._asked = self._last_ask = "tools"
        return due
