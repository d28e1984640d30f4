"""When the callee's speech over the agent is a bid for the turn, and when it is not.

The server's VAD reports speech at the first syllable — a cough, an "mm-hm", the line's echo of
the agent's own voice all start a turn. The agent stops talking only once the callee has spoken
for `after_ms` of their own voice: voiced frames (at least `level`) that the echo check did not
explain as the agent's audio coming back. A pause longer than `gap_ms` starts the count again.
Pure state, fed the callee's measured frames and the server's speech events in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from media.speech_activity import SPEECH_LEVEL


@dataclass(slots=True)
class Interruption:
    """Says when a speech turn of the callee's should cut the agent off (once per turn)."""

    after_ms: int
    level: float = SPEECH_LEVEL
    gap_ms: float = 200.0
    _run_ms: float = field(init=False, default=0.0)  # the callee's own voice, this run
    _quiet_ms: float = field(init=False, default=0.0)
    _echo: bool = field(init=False, default=False)  # the latest voiced frame was echo
    _speaking: bool = field(init=False, default=False)  # server VAD: speech started, not stopped
    _armed: bool = field(init=False, default=False)  # this turn has not interrupted yet

    def audio(self, duration_ms: float, level: float, *, echo: bool = False) -> bool:
        """A measured frame of callee audio; True when the agent should stop now."""
        if level >= self.level and not echo:
            self._run_ms += duration_ms
            self._quiet_ms = 0.0
            self._echo = False
        else:
            self._echo = self._echo or (echo and level >= self.level)
            self._quiet_ms += duration_ms
            if self._quiet_ms > self.gap_ms:
                self._run_ms = 0.0
        return self._due()

    def speech_started(self) -> bool:
        """Server VAD heard the callee start; True when that alone is enough to stop."""
        self._speaking = self._armed = True
        return self._due()

    def speech_stopped(self) -> None:
        self._speaking = self._armed = False

    def _due(self) -> bool:
        if not (self._speaking and self._armed):
            return False
        # With no minimum, at the first sound — unless that sound is the echo.
        due = not self._echo if self.after_ms == 0 else self._run_ms >= self.after_ms
        if due:
            self._armed = False
        return due
