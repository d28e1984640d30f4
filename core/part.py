"""What a node is made of: long-running parts, started in order and stopped in reverse."""

from __future__ import annotations

from typing import Protocol


class Part(Protocol):
    """A long-running piece of a node (UI server, AMI connection, media server…)."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def describe(self) -> str:
        """One line for the start-up banner (where to open it, what it listens on)."""
        ...
