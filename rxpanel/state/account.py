"""The logged-in user's own account: changing one's password (from the user menu).
The passwords go from the form to the service; none is kept in state."""

from __future__ import annotations

import asyncio

import reflex as rx

from rxpanel.services import ServiceError, users
from rxpanel.state.auth import (
    AuthState,
    authorized,
    client_address,
    current_user,
    public,
    record,
)
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
    async def change_password(self, form: dict):
        """A new password ends every session and revokes every API token of the user
        (services.users); this tab gets a fresh session. argon2 runs in a thread."""
        user = current_user()
        new = form.get("new_password", "")
        if new != form.get("confirm_password", ""):
            self.password_error = "The two new passwords differ."
            return
        try:
            await asyncio.to_thread(
                users.set_password, user.id, form.get("current_password", ""), new
            )
        except ValidationError as e:
            self.password_error = str(e)
            return
        except ServiceError as e:
            self.password_error = str(e).capitalize() + "."
            await asyncio.to_thread(
                record, "user.password", f"user:{user.username}", outcome="failed", detail=str(e)
            )
            return
        self.session_token = await asyncio.to_thread(
            users.start_session, user.id, client_address(self)
        )
        await asyncio.to_thread(
            record,
            "user.password",
            f"user:{user.username}",
            detail="sessions and API tokens revoked",
        )
        self.password_open, self.password_error = False, ""
        return rx.toast.success(
            "Password changed. Your other sessions and your API tokens were revoked."
        )
