"""The quote check: a fact counts only if its supporting words occur in the transcript.

Both sides are compared after normalising Unicode, case, punctuation and whitespace, one
transcript turn at a time (a quote may not stitch two turns together).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from agents.post_call_analyzer.schemas import ReportedFact
from agents.schemas import Fact

_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
_SPEAKER = re.compile(r"^\s*(agent|assistant|ai|callee|caller|user|human)\s*:\s*", re.I)


def normalize(text: str) -> str:
    """Lower-case words separated by single spaces; punctuation and accents' forms unified."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_NON_WORD.sub(" ", text).split())


def turn_texts(transcript: Iterable[Mapping[str, Any]]) -> list[str]:
    return [str(turn.get("text") or "") for turn in transcript]


def quote_supported(quote: str, turns: Sequence[str]) -> bool:
    """True when the normalised quote occurs inside one normalised turn."""
    needle = normalize(_SPEAKER.sub("", quote))
    if not needle:
        return False
    padded = f" {needle} "
    return any(padded in f" {normalize(turn)} " for turn in turns)


def check_facts(facts: Iterable[ReportedFact], turns: Sequence[str]) -> list[Fact]:
    """The model's facts with `supported` set by the quote check."""
    return [
        Fact(name=f.name, value=f.value, quote=f.quote, supported=quote_supported(f.quote, turns))
        for f in facts
    ]
