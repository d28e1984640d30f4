"""The agent on hold: since when, how long in all, and how much of the campaign's limit is left.

A callee puts the agent on hold (hold music, a queue, a call screener connecting the call): the
model calls `wait_on_hold` and the conversation enters its HOLD phase. Each sound on the line
is then a candidate for "a person is back"; the model judges it, and the hold ends when it
answers one. The time on hold runs from the call of `wait_on_hold` to the start of the sound
the agent answered — the person's first words, not the model's reply to them — and adds up
over the holds of a call, against one limit. Pure state, fed in order with the monotonic time.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Hold:
    limit_ms: int  # the longest wait on hold, in all, before the agent gives up
    held_ms: int = field(init=False, default=0)  # holds that ended, in all
    response_id: str | None = field(init=False, default=None)  # the response that asked to wait
    check_owed: bool = field(init=False, default=False)  # a sound ended while a response ran
    _since: int | None = field(init=False, default=None)
    _heard: int | None = field(init=False, default=None)  # the latest sound on hold began then

    @property
    def on(self) -> bool:
        return self._since is not None

    def begin(self, now_ms: int, response_id: str) -> int:
        """The agent waits from now; returns how long it may (ms, 0 when the limit is spent)."""
        self._since, self._heard = now_ms, None
        self.response_id = response_id
        self.check_owed = False
        return max(0, self.limit_ms - self.held_ms)

    def renew(self, response_id: str) -> None:
        """The model chose to go on waiting (`wait_on_hold` again, in `response_id`)."""
        self.response_id = response_id

    def heard(self, now_ms: int) -> None:
        """A sound on the line began (music, a recording, or a person)."""
        self._heard = now_ms

    def end(self, now_ms: int, *, answered: bool) -> int:
        """The hold is over: `answered` — the agent answered the sound that began last, so the
        hold ended as it began; otherwise now. Returns the time on hold in all."""
        if self._since is not None:
            until = self._heard if answered and self._heard is not None else now_ms
            self.held_ms += max(0, until - self._since)
        self._since = self._heard = self.response_id = None
        self.check_owed = False
        return self.held_ms

    def total_ms(self, now_ms: int) -> int:
        """The time on hold so far, the hold under way included."""
        ongoing = now_ms - self._since if self._since is not None else 0
        return self.held_ms + max(0, ongoing)
