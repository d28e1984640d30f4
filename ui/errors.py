"""Turning what goes wrong in a handler into a message for the user (never a traceback)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import gradio as gr

from core.db import NotFound
from core.logging import get_logger
from core.services import InvalidInput, ServiceError
from ui.auth import NotSignedIn

log = get_logger("opendeep.ui")


def user_error(message: str, title: str = "Not done") -> gr.Error:
    """A message for the user about something they can fix (no traceback in the log)."""
    return gr.Error(message, title=title, print_exception=False)


@contextmanager
def shown_to_user(doing: str) -> Iterator[None]:
    """Raise a `gr.Error` the user can act on for anything the block raises.

    `doing` says what the handler was doing ("pausing the campaign"); unexpected errors are
    logged with it and the user is told it was logged.
    """
    try:
        yield
    except gr.Error:
        raise
    except NotSignedIn:
        raise user_error(
            "Your session has ended: reload the page and sign in again.", "Signed out"
        ) from None
    except NotFound as exc:
        # The same words for "does not exist" and "is someone else's": nothing leaks.
        raise user_error(f"The {exc.what} was not found; refresh the page.") from None
    except InvalidInput as exc:
        raise user_error(" · ".join(exc.problems), "Please fix this") from None
    except ServiceError as exc:
        raise user_error(_sentence(str(exc))) from None
    except Exception:
        log.exception("ui handler failed", doing=doing)
        raise gr.Error(
            f"Something went wrong while {doing}. It was logged; please try again.",
            print_exception=False,  # logged above, with context
        ) from None


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text
