"""The error family every layer raises and every edge maps by type (never by its
text): the API to an HTTP status, the CLI to an exit code, the pages to a toast.
A bottom module, importing nothing of the panel, so validate.py can build on it."""

from __future__ import annotations


class Refused(ValueError):
    """A refused request, in one plain sentence."""


class NotFound(Refused):
    """What the request names does not exist."""


class Conflict(Refused):
    """The request is fine, but the present state does not allow it."""


class Invalid(Refused):
    """The request itself cannot be carried out as given."""


class Forbidden(Refused):
    """The caller's role does not allow it."""
