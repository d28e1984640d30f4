"""The echo check on synthetic speech: the agent's voice coming back 10 dB quieter and 100 ms
later never cuts the agent off, while a person talking over the agent still does. The whole
path is the conversation's own: measured frames and the speech events of an energy VAD (the
local Realtime server's) over the inbound audio, as a real line would produce them."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import numpy.typing as npt
import pytest

from core.domain import TurnTaking
from media.audio import rms
from media.conversation import Timer
from media.conversation.commands import ClearPlayout, Command
from media.conversation.inputs import CalleeAudio, CallStarted, Connected, PlayoutCleared
from media.echo import EchoCheck, level_db
from media.playout import Cleared
from media.realtime_events import ResponseCreated, SpeechStarted, SpeechStopped
from media.realtime_server.vad import EnergyVad, VadConfig, VadStart
from tests.media.conversation_kit import SCRIPT, Call

RATE = 8000
FRAME = 160  # 20 ms
Samples = npt.NDArray[np.float64]


def speech_like(seconds: float, seed: int, level_db: float = -20.0) -> Samples:
    """Syllables of 80–250 ms (a voiced buzz under a smooth envelope, ±6 dB from syllable to
    syllable) with 40–150 ms between them and a longer pause now and then."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    envelope = np.zeros(n)
    at = 0
    while at < n:
        length = int(rng.uniform(0.08, 0.25) * RATE)
        part = min(length, n - at)
        amp = 10 ** ((level_db + rng.uniform(-6, 6)) / 20) * np.sqrt(2)
        envelope[at : at + part] = amp * np.sin(np.pi * np.arange(part) / length)
        at += length + int(rng.uniform(0.04, 0.15) * RATE)
        if rng.random() < 0.1:
            at += int(rng.uniform(0.3, 0.6) * RATE)
    t = np.arange(n) / RATE
    f0 = rng.uniform(100, 200)
    buzz = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 8))
    buzz = buzz / np.sqrt(np.mean(buzz**2))
    return envelope * buzz


def echo_of(agent: Samples, delay_ms: int = 100, gain_db: float = -10.0) -> Samples:
    delay = delay_ms * RATE // 1000
    echo = np.zeros_like(agent)
    echo[delay:] = agent[:-delay] * 10 ** (gain_db / 20)
    return echo


def line_noise(n: int, seed: int = 9) -> Samples:
    return np.random.default_rng(seed).normal(0, 10 ** (-60 / 20), n)


def pcm(x: Samples) -> npt.NDArray[np.int16]:
    return np.clip(x * 32768, -32768, 32767).astype(np.int16)


def frame_levels(x: npt.NDArray[np.int16]) -> list[float]:
    return [rms(x[i : i + FRAME]) for i in range(0, len(x) - FRAME + 1, FRAME)]


def played_with(levels: list[float], n: int, bunch: int) -> tuple[float, ...]:
    """What inbound frame `n` is handed in with when the callee's frames arrive `bunch` at a
    time (each group once its last frame is due): the first frame of a group, the levels the
    line played since the group before; the others, none."""
    first = n - n % bunch
    return tuple(levels[first : first + bunch]) if n == first else ()


def run_call(
    agent: Samples,
    inbound: Samples,
    *,
    echo_check: bool = True,
    interrupt_after_ms: int = 300,
    bunch: int = 1,
) -> tuple[Call, int]:
    """The agent talks throughout; the callee's line carries `inbound`, its frames arriving
    `bunch` at a time. Every barge-in the conversation asks for is counted and answered as the
    playout would (the agent goes on). Returns the call and the frame of the first barge-in
    (-1: none)."""
    call = Call()
    script = replace(SCRIPT, turn_taking=TurnTaking(interrupt_after_ms=interrupt_after_ms))
    call(CallStarted(script, "HUMAN"))
    call(Connected())  # the greeting
    call(ResponseCreated("r1"))
    vad = EnergyVad(VadConfig(silence_duration_ms=600), RATE)
    played, heard = pcm(agent), pcm(inbound)
    played_levels = frame_levels(played) if echo_check else [0.0] * (len(played) // FRAME)
    first = -1
    for n, start in enumerate(range(0, len(heard) - FRAME + 1, FRAME)):
        frame = heard[start : start + FRAME]
        level = played_with(played_levels, n, bunch)
        commands: list[Command] = call(CalleeAudio(20.0, rms(frame), level), after_ms=20)
        for event in vad.feed(frame):
            if isinstance(event, VadStart):
                commands += call(SpeechStarted(event.audio_start_ms, f"in-{n}"))
            else:
                commands += call(SpeechStopped(event.audio_end_ms, f"in-{n}"))
        if ClearPlayout() in commands:
            first = n if first < 0 else first
            call(PlayoutCleared(Cleared(25, 500, "i1", "r1", n * 20)))
            call(ResponseCreated(f"r{n}"))  # the agent goes on talking, for the count
    assert Timer.GREETING_WAIT not in call.timers
    return call, first


def test_levels_are_in_dbfs_with_a_floor_for_silence() -> None:
    assert level_db(1.0) == 0.0
    assert level_db(0.1) == pytest.approx(-20.0)
    assert level_db(0.0) == level_db(1e-9) == -70.0


def test_an_echo_is_recognised_frame_by_frame() -> None:
    agent = speech_like(20, seed=1)
    heard = pcm(echo_of(agent) + line_noise(len(agent)))
    check = EchoCheck()
    voiced = echo = 0
    for heard_level, played_level in zip(
        frame_levels(heard), frame_levels(pcm(agent)), strict=True
    ):
        is_echo = check.frame(heard_level, played_level)
        if level_db(heard_level) >= -35:  # loud enough to count as speech
            voiced += 1
            echo += is_echo
    # All but the first frames of a phrase after a pause (the window fills first).
    assert voiced > 100 and echo / voiced > 0.8


def test_silence_or_a_line_without_the_agent_playing_is_not_echo() -> None:
    check = EchoCheck()
    talker = frame_levels(pcm(speech_like(5, seed=3)))
    assert not any(check.frame(level, 0.0) for level in talker)


def reference_echo(check: EchoCheck, heard: list[float], played: list[float]) -> bool:
    """The check's definition, over the whole history, with no shortcut: some lag of 0 to
    `max_lag_ms` at which the last `window` inbound levels sit at least `min_attenuation_db`
    below the loud played levels that lag earlier, with a spread of at most `max_spread_db`."""
    lags = check.max_lag_ms // 20
    played_db = [-70.0] * lags + [level_db(p) for p in played]
    heard_db = [level_db(h) for h in heard][-check.window :]
    size = len(heard_db)
    for lag in range(lags + 1):
        end = len(played_db) - lag
        if end < size:
            continue
        then = played_db[end - size : end]
        diffs = [h - p for h, p in zip(heard_db, then, strict=True) if p >= -50.0]
        if not diffs:
            continue
        mean = sum(diffs) / len(diffs)
        spread = (sum((d - mean) ** 2 for d in diffs) / len(diffs)) ** 0.5
        if mean <= -check.min_attenuation_db and spread <= check.max_spread_db:
            return True
    return False


def test_asking_only_now_and_then_gives_the_answer_of_the_whole_history() -> None:
    """Frames are fed every time and judged only when asked (voiced frames): the answer is
    the definition's over everything fed, through the agent's talk, its silences (longer
    than every lag compared) and bunches of played frames."""
    rng = np.random.default_rng(11)
    check = EchoCheck()
    heard: list[float] = []
    played: list[float] = []
    asked = echoes = 0
    for n in range(3000):
        talking = (n // 150) % 3 != 2  # 3 s of talk, 1.5 s of silence
        bunch = [
            float(10 ** (rng.uniform(-30, -12) / 20)) if talking else 0.0
            for _ in range(int(rng.integers(0, 4)))
        ]
        # Now and then the echo of the last played frame, else a quiet line or a person.
        if bunch and rng.random() < 0.6:
            level = bunch[-1] * 10 ** (-10 / 20)
        else:
            level = float(10 ** (rng.uniform(-70, -15) / 20))
        check.feed(level, bunch)
        heard.append(level)
        played += bunch
        if rng.random() < 0.3:
            asked += 1
            expected = reference_echo(check, heard, played)
            echoes += expected
            assert check.is_echo() is expected, f"frame {n}"
    assert asked > 800 and 0 < echoes < asked


@pytest.mark.parametrize("interrupt_after_ms", [300, 0])
def test_a_minute_of_echo_at_minus_10_db_and_100_ms_cuts_the_agent_off_never(
    interrupt_after_ms: int,
) -> None:
    agent = speech_like(60, seed=1)
    inbound = echo_of(agent) + line_noise(len(agent))
    call, _ = run_call(agent, inbound, interrupt_after_ms=interrupt_after_ms)
    barge_ins_per_minute = call.conversation.counts.barge_ins  # 60 s of agent speech
    assert barge_ins_per_minute == 0


@pytest.mark.parametrize("delay_ms", [20, 100, 250, 400])
def test_an_echo_arriving_in_bunches_or_late_cuts_the_agent_off_never(delay_ms: int) -> None:
    """A loaded machine receives the callee's frames four at a time (80 ms apart), and a
    mobile or VoIP leg returns the echo later: every frame is still set against the agent's
    frames the line played, in order."""
    agent = speech_like(60, seed=1)
    inbound = echo_of(agent, delay_ms=delay_ms) + line_noise(len(agent))
    call, _ = run_call(agent, inbound, bunch=4)
    assert call.conversation.counts.barge_ins == 0


def test_without_the_echo_check_the_same_echo_cuts_the_agent_off_again_and_again() -> None:
    agent = speech_like(60, seed=1)
    inbound = echo_of(agent) + line_noise(len(agent))
    call, _ = run_call(agent, inbound, echo_check=False)
    assert call.conversation.counts.barge_ins >= 10  # what the check saves the agent from


@pytest.mark.parametrize("bunch", [1, 4])
@pytest.mark.parametrize("talker_db", [-20.0, -26.0])
@pytest.mark.parametrize("interrupt_after_ms", [300, 0])
def test_a_person_talking_over_the_agent_still_cuts_it_off(
    talker_db: float, interrupt_after_ms: int, bunch: int
) -> None:
    agent = speech_like(20, seed=1)
    talker = np.zeros_like(agent)
    starts = 10 * RATE
    talker[starts : starts + 2 * RATE] = speech_like(2, seed=7, level_db=talker_db)
    inbound = echo_of(agent) + talker + line_noise(len(agent))
    call, first = run_call(agent, inbound, interrupt_after_ms=interrupt_after_ms, bunch=bunch)
    assert call.conversation.counts.barge_ins == 1
    assert 0 <= first * 20 - 10_000 <= 800  # cut off within 0.8 s of the person's first word
