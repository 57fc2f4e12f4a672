"""The logged-in user's own account: changing one's password (from the user menu).
The passwords go from the form to the service; none is kept in state."""

from __future__ import annotations

import reflex as rx

from rxpanel.services import ServiceError, users
from rxpanel.state.auth import AuthState, authorized, current_user, public, record
from rxpanel.validate import ValidationError


class AccountState(AuthState):
    password_open: bool = False
    password_error: str = ""

    @rx.event
    @authorized("viewer")
    def open_password(self):
        self.password_error, self.password_open = "", True

    @rx.event
    @public
    def set_password_open(self, value: bool):
        self.password_open = bool(value) and self.password_open

    @rx.event
    @authorized("viewer")
    def change_password(self, form: dict):
        user = current_user()
        new = form.get("new_password", "")
        if new != form.get("confirm_password", ""):
            self.password_error = "The two new passwords differ."
            return
        try:
            users.set_password(user.id, form.get("current_password", ""), new)
        except ValidationError as e:
            self.password_error = str(e)
            return
        except ServiceError as e:
            self.password_error = str(e).capitalize() + "."
            record("user.password", f"user:{user.username}", outcome="failed", detail=str(e))
            return
        record("user.password", f"user:{user.username}")
        self.password_open, self.password_error = False, ""
        return rx.toast.success("Password changed. Use the new one next time you log in.")
