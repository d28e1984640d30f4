"""A campaign's turn-taking settings (`core.domain.TurnTaking`) as Realtime session fields."""

from __future__ import annotations

from core.domain import TurnTaking
from media.realtime_events import NoiseReduction, SemanticVad, ServerVad, TurnDetection


def turn_detection(settings: TurnTaking, *, respond: bool) -> TurnDetection:
    """`audio.input.turn_detection` for `settings`; `respond`: the server answers each turn
    it detects (`create_response`).

    The server never cuts the agent off itself (`interrupt_response` off): the conversation
    decides, so a cough, an "mm-hm" or the line's echo of the agent's own voice does not
    (`TurnTaking.interrupt_after_ms`, `media.echo`)."""
    if settings.mode == "semantic_vad":
        return SemanticVad(
            eagerness=settings.eagerness, create_response=respond, interrupt_response=False
        )
    return ServerVad(
        threshold=settings.threshold,
        prefix_padding_ms=settings.prefix_padding_ms,
        silence_duration_ms=settings.silence_duration_ms,
        create_response=respond,
        interrupt_response=False,
    )


def noise_reduction(settings: TurnTaking) -> NoiseReduction | None:
    """`audio.input.noise_reduction`'s type, None for `off` (sent as `null`)."""
    return None if settings.noise_reduction == "off" else settings.noise_reduction
