"""Errors a user can cause: each message names the input and says what to do instead."""

from __future__ import annotations


class ServiceError(ValueError):
    """A request that cannot be carried out as asked; `str(error)` is safe to show the user."""


class InvalidInput(ServiceError):
    """One or more inputs are wrong; `problems` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
