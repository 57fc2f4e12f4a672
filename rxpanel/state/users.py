"""Users (admins only): add, change a role, disable or enable, reset a password.

Passwords go from the submitted form straight to the service (hashed there);
they are never kept in state, echoed back, or written to the audit log."""

from __future__ import annotations

import asyncio

import reflex as rx

from rxpanel import present
from rxpanel.services import ServiceError, users
from rxpanel.state.auth import AuthState, authorized, public, record
from rxpanel.validate import ValidationError


class UsersState(AuthState):
    rows: list[dict[str, str]] = []
    error: str = ""  # why the last change from the table was refused
    add_open: bool = False
    add_error: str = ""
    reset_user: str = ""  # whose password is being reset; "" while that dialog is closed
    reset_error: str = ""

    def _reload(self) -> None:
        self.rows = [present.user_row(u) for u in users.records()]

    @rx.event
    @authorized("admin")
    def load(self):
        self.error, self.add_open, self.reset_user = "", False, ""
        self._reload()

    @rx.event
    @authorized("admin")
    def open_add(self):
        self.add_error, self.add_open = "", True

    @rx.event
    @public
    def set_add_open(self, value: bool):
        self.add_open = bool(value) and self.add_open

    @rx.event
    @authorized("admin")
    async def add(self, form: dict):
        try:
            user = await asyncio.to_thread(
                users.create,
                form.get("username", ""),
                form.get("initial_password", ""),
                form.get("role", ""),
            )
        except (ServiceError, ValidationError) as e:
            self.add_error = str(e)
            return
        record("user.add", f"user:{user.username}", detail=f"role {user.role}")
        self.add_open, self.add_error, self.error = False, "", ""
        self._reload()
        return rx.toast.success(f"User {user.username} added ({user.role}).")

    async def _change(self, name: str, what: str, **changes):
        """Apply an admin change to a user; refusals (the last-admin rule) are shown
        above the table and recorded as refused. Disabling a user ends their sessions
        and revokes their API tokens (services.users)."""
        target = f"user:{name}"
        try:
            await asyncio.to_thread(_update, name, **changes)
        except (ServiceError, ValidationError) as e:
            self.error = str(e)
            record("user.update", target, outcome="refused", detail=f"{what}: {e}")
            self._reload()
            return rx.toast.error(f"{name}: {e}")
        record("user.update", target, detail=what)
        self.error = ""
        self._reload()
        return rx.toast.success(f"{name}: {what}.")

    @rx.event
    @authorized("admin")
    async def change_role(self, name: str, role: str):
        return await self._change(name, f"role {role}", role=role)

    @rx.event
    @authorized("admin")
    async def disable(self, name: str):
        return await self._change(name, "disabled", disabled=True)

    @rx.event
    @authorized("admin")
    async def enable(self, name: str):
        return await self._change(name, "enabled", disabled=False)

    @rx.event
    @authorized("admin")
    def open_reset(self, name: str):
        self.reset_user, self.reset_error = name, ""

    @rx.event
    @public
    def close_reset(self, value: bool = False):
        if not value:
            self.reset_user, self.reset_error = "", ""

    @rx.event
    @authorized("admin")
    async def reset_password(self, form: dict):
        name = self.reset_user
        password = form.get("reset_password", "")
        if password != form.get("reset_confirm", ""):
            self.reset_error = "The two passwords differ."
            return
        try:
            await asyncio.to_thread(_update, name, password=users.check_password(password))
        except (ServiceError, ValidationError) as e:
            self.reset_error = str(e)
            return
        record("user.update", f"user:{name}", detail="password reset")
        self.reset_user, self.reset_error = "", ""
        self._reload()
        return rx.toast.success(f"{name}: password reset. Tell them to change it.")


def _update(name: str, **changes) -> None:
    users.admin_update(users.get(name).id, **changes)
