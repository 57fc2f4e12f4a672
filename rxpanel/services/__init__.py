"""Services own the database: every read and write of rows goes through here.
Their errors are the panel's error family (rxpanel.errors)."""

from rxpanel.errors import Conflict, Forbidden, Invalid, NotFound
from rxpanel.errors import Refused as ServiceError

__all__ = ["Conflict", "Forbidden", "Invalid", "NotFound", "ServiceError"]
