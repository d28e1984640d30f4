"""How the voice agent takes turns on a campaign's calls (stored in `campaigns.plan`).

The defaults are chosen for the telephone, not for a laptop microphone:

- `server_vad`: end of turn by silence gives a predictable reply delay, and its knobs are the
  ones the local Realtime server simulates; `semantic_vad` (the model judges whether the callee
  has finished) waits out "uhm" better but replies later, so a campaign opts into it.
- `silence_duration_ms` 500 (the GA default): a callee who pauses between two sentences gets
  an answer to the first; longer silences make every reply later, and the ~700 ms gap at which
  a caller starts to wonder whether anyone is there comes sooner. Numbers and dates read out
  in pieces are handled by the agent reading them back, not by waiting longer.
- `threshold` 0.5 and `prefix_padding_ms` 300 (the GA defaults): the network levels telephone
  audio, so the default sensitivity fits; a higher threshold would miss quiet callees.
- `noise_reduction` near_field: a handset or a headset is a close-talking microphone, the case
  `near_field` is made for; `far_field` is for laptop and room microphones and would treat the
  talker's own voice as distant. A campaign calling speakerphones (front desks, cars) may
  choose far_field, or off.
- `interrupt_after_ms` 300: backchannels ("mm-hm", "yeah") and coughs are shorter than that,
  a callee who wants the turn talks longer; so the agent is cut off only after 300 ms of the
  callee's speech (0 cuts it off at the first sound, as before).

How long the agent waits on hold (hold music, a queue, a screener connecting the call) is the
campaign plan's `hold_limit_s`, next to these settings: `HOLD_LIMIT_S` by default, five
minutes — a front desk's queue is usually shorter, and a line that holds longer costs a
minute of the voice model's time per minute while nobody talks.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

TurnMode = Literal["server_vad", "semantic_vad"]
Eagerness = Literal["low", "medium", "high", "auto"]
NoiseReduction = Literal["near_field", "far_field", "off"]

HOLD_LIMIT_S: Final = 300  # seconds on hold, in all, before the agent ends the call politely
MIN_HOLD_LIMIT_S: Final = 30
MAX_HOLD_LIMIT_S: Final = 3600


class TurnTaking(BaseModel):
    """When the callee's turn ends, and when the callee may cut the agent off."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    mode: TurnMode = Field(
        "server_vad",
        description="server_vad: a turn ends after silence_duration_ms of silence; "
        "semantic_vad: the model judges when the callee has finished (slower, fewer "
        "interruptions of a callee who pauses).",
    )
    eagerness: Eagerness = Field(
        "auto",
        description="semantic_vad only: low waits longer for the callee to go on, high "
        "replies sooner; auto is medium.",
    )
    threshold: float = Field(
        0.5, ge=0.0, le=1.0, description="server_vad only: how loud speech must be (0–1)."
    )
    prefix_padding_ms: int = Field(
        300, ge=0, le=2000, description="server_vad only: audio kept before speech began."
    )
    silence_duration_ms: int = Field(
        500, ge=100, le=5000, description="server_vad only: silence that ends the callee's turn."
    )
    noise_reduction: NoiseReduction = Field(
        "near_field",
        description="near_field for handsets and headsets, far_field for speakerphones, off.",
    )
    interrupt_after_ms: int = Field(
        300,
        ge=0,
        le=3000,
        description="How long the callee must speak over the agent before it stops talking "
        "(a cough or an 'mm-hm' is shorter); 0: at the first sound.",
    )
