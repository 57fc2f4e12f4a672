"""Servers: list, add, edit, delete, and a check that reports item by item.

The SSH key arrives in the submitted form and goes straight to the service
(encrypted at rest); it is never kept in state or sent back to the browser."""

from __future__ import annotations

import asyncio

import reflex as rx

from rxpanel import actions, present
from rxpanel.services import ServiceError, servers
from rxpanel.state.auth import AuthState, authorized, current_actor, record
from rxpanel.validate import ValidationError

# the add form starts from the stored defaults (the Server model's)
DEFAULTS = {
    "name": "",
    "host": "",
    **{k: str(v) for k, v in servers.DEFAULTS.items() if k != "sudo"},
    "sudo": "on" if servers.DEFAULTS["sudo"] else "",
}


def _rows() -> list[dict[str, str]]:
    return [present.server_row(s) for s in servers.records()]


class ServersState(AuthState):
    rows: list[dict[str, str]] = []
    dialog_open: bool = False
    editing: str = ""  # the server being edited; "" for a new one
    form: dict[str, str] = DEFAULTS
    form_error: str = ""
    checking: str = ""
    checked_server: str = ""
    check_items: list[dict[str, str]] = []

    @rx.event
    @authorized("viewer")
    def load(self):
        self.rows = _rows()

    @rx.event
    @authorized("admin")
    def open_add(self):
        self.editing, self.form, self.form_error, self.dialog_open = "", dict(DEFAULTS), "", True

    @rx.event
    @authorized("admin")
    def open_edit(self, name: str):
        self.editing, self.form, self.form_error = (
            name,
            present.server_form(servers.public(servers.get(name))),
            "",
        )
        self.dialog_open = True

    @rx.event
    @authorized("viewer")
    def set_dialog_open(self, value: bool):
        self.dialog_open = value

    @rx.event
    @authorized("admin")
    def save(self, form: dict):
        data = servers.ServerInput(
            name=form.get("name", ""),
            host=form.get("host", ""),
            port=form.get("port", "22"),
            user=form.get("user", ""),
            sudo=bool(form.get("sudo")),
            deploy_root=form.get("deploy_root", ""),
            nginx_conf_dir=form.get("nginx_conf_dir", ""),
            nginx_cmd=form.get("nginx_cmd", ""),
            supervisor_conf_dir=form.get("supervisor_conf_dir", ""),
            supervisorctl_cmd=form.get("supervisorctl_cmd", ""),
        )
        try:
            data.cleaned()
            key = _key_from(form)
            if self.editing:
                servers.update(self.editing, data, key)
            else:
                if key is None:
                    raise ValidationError("paste the SSH private key, or give a key file path")
                servers.add(data, key)
        except (ServiceError, ValidationError) as e:
            self.form_error = str(e)
            return
        self.dialog_open, self.form_error = False, ""
        self.rows = _rows()
        verb = "saved" if self.editing else "added"
        record(
            "server.update" if self.editing else "server.add",
            f"server:{data.name}",
            detail="with a new key" if key else "",
        )
        return rx.toast.success(f"Server {data.name} {verb}. Press Check to test it.")

    @rx.event
    @authorized("admin")
    def delete(self, name: str):
        try:
            servers.delete(name)
        except ServiceError as e:
            return rx.toast.error(str(e))
        self.rows = _rows()
        record("server.delete", f"server:{name}")
        return rx.toast.success(f"Server {name} deleted.")

    @rx.event(background=True)
    @authorized("deployer")
    async def check(self, name: str):
        """Connect and run `server check`, showing each item as it completes."""
        async with self:
            if self.checking:
                return
            self.checking, self.checked_server, self.check_items = name, name, []
        failed = 0
        try:
            items = actions.check_server(name, current_actor())
            while (item := await asyncio.to_thread(next, items, None)) is not None:
                failed += not item.ok
                async with self:
                    self.check_items.append(
                        {"label": item.label, "ok": "yes" if item.ok else "", "detail": item.detail}
                    )
        except ServiceError as e:
            failed += 1
            async with self:
                self.check_items.append({"label": "server", "ok": "", "detail": str(e)})
        async with self:
            self.checking = ""
            self.rows = _rows()
        if failed:
            yield rx.toast.error(f"{name}: {failed} check(s) failed.")
        else:
            yield rx.toast.success(f"{name} is ready for deploys.")


def _key_from(form: dict) -> str | None:
    """The pasted key, or the key file named on the panel host, or None (keep)."""
    text = (form.get("key_text") or "").strip()
    if text:
        try:
            servers.check_key(text + "\n")
        except ValueError as e:
            raise ValidationError(f"SSH key: {e}") from None
        return text + "\n"
    path = (form.get("key_path") or "").strip()
    return servers.read_key_file(path) if path else None
