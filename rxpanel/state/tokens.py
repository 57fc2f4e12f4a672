"""API tokens: everyone manages their own (admins see everyone's).

A new token is shown once: it sits in `issued` only while its dialog is open,
and is cleared the moment the dialog closes; only its hash is stored."""

from __future__ import annotations

import reflex as rx

from rxpanel import present
from rxpanel.models import ROLES
from rxpanel.services import NotFound, ServiceError, tokens
from rxpanel.state.auth import AuthState, authorized, current_user, public, record
from rxpanel.validate import ValidationError, positive


def allowed_scopes(role: str) -> list[str]:
    """The scopes a user of `role` may give a token: never more than the role."""
    if role not in ROLES:
        return []
    return [s for s, needs in tokens.SCOPES.items() if ROLES.index(needs) >= ROLES.index(role)]


class TokensState(AuthState):
    rows: list[dict[str, str]] = []
    new_open: bool = False
    new_error: str = ""
    issued: str = ""  # the token just issued, while the shown-once dialog is open
    issued_name: str = ""
    scopes: list[str] = ["read"]  # what this user may give a token

    def _reload(self) -> None:
        user = current_user()
        found = tokens.records(None if user.role == "admin" else user.id)
        self.rows = [present.token_row(t) for t in found]
        self.scopes = allowed_scopes(user.role)

    @rx.event
    @authorized("viewer")
    def load(self):
        self.new_open, self.issued, self.issued_name = False, "", ""
        self._reload()

    @rx.event
    @authorized("viewer")
    def open_new(self):
        self.new_error, self.new_open = "", True

    @rx.event
    @public
    def set_new_open(self, value: bool):
        self.new_open = bool(value) and self.new_open

    @rx.event
    @authorized("viewer")
    def issue(self, form: dict):
        user = current_user()
        days = str(form.get("expires_days") or "").strip()
        try:
            expires = positive(days, "expiry days", 1, 3650) if days else None
            token, plain = tokens.issue(
                user, form.get("token_name", ""), form.get("scope") or "read", expires
            )
        except (ServiceError, ValidationError) as e:
            self.new_error = str(e)
            return
        record(
            "token.issue",
            f"user:{user.username}",
            detail=f"#{token.id} {token.prefix}… {token.scope} '{token.name}'"
            + (f", {expires} days" if expires else ""),
        )
        self.new_open, self.new_error = False, ""
        self.issued, self.issued_name = plain, token.name
        self._reload()

    @rx.event
    @public
    def close_issued(self, value: bool = False):
        """The shown-once dialog closed: forget the token (no login needed to forget)."""
        if not value:
            self.issued, self.issued_name = "", ""

    @rx.event
    @authorized("viewer")
    def revoke(self, token_id: str):
        try:
            token = tokens.revoke(int(token_id), current_user())
        except (NotFound, ValueError):
            return rx.toast.error(f"No token #{token_id} of yours.")
        record("token.revoke", f"token:{token.id}", detail=f"{token.prefix}… {token.scope}")
        self._reload()
        return rx.toast.success(f"Token {token.name!r} revoked: it no longer works.")
