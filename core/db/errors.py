"""Errors of the data layer that a caller may show to a user."""


class NotFound(LookupError):
    """The object does not exist for this user (another user's object is simply not found)."""

    def __init__(self, what: str, ident: object) -> None:
        super().__init__(f"{what} {ident} not found")
        self.what = what
        self.ident = ident


class AlreadyExists(ValueError):
    """A unique name is taken."""
