"""The data layer: models, the `Database`, and its user-scoped repositories."""

from core.db.database import Database, rerun_if_connection_lost
from core.db.errors import AlreadyExists, NotFound
from core.db.scoped import UserScope
from core.db.sign_in import SignInRecords
from core.db.system import CallRef, Claim, SystemOps
from core.db.types import utcnow
from core.db.users import BadUserInput, UserDirectory

__all__ = [
    "AlreadyExists",
    "BadUserInput",
    "CallRef",
    "Claim",
    "Database",
    "NotFound",
    "SignInRecords",
    "SystemOps",
    "UserDirectory",
    "UserScope",
    "rerun_if_connection_lost",
    "utcnow",
]
