"""Apps: list, add, edit. Env values are write-only here: the state holds env
keys, a typed value goes from the submitted form to the service (encrypted),
and a saved value is never sent back to the browser."""

from __future__ import annotations

import dataclasses

import reflex as rx

from rxpanel import present, routes, validate
from rxpanel.services import ServiceError, app_records, apps, servers
from rxpanel.services.apps import SETTINGS
from rxpanel.state.auth import AuthState, authorized, record
from rxpanel.validate import ValidationError

# The app form's fields: name, server, source and url, then the settings the CLI's
# flags have too (SETTINGS), each defaulting as rxpanel.services.apps.AppInput does.
DEFAULTS = {
    "name": "",
    "server": "",
    "source": "",
    "url": "",
    **{
        f.name: "" if f.default is None else str(f.default)  # None: the panel's default
        for f in dataclasses.fields(apps.AppInput)
        if f.name in SETTINGS
    },
}


class AppsState(AuthState):
    rows: list[dict[str, str]] = []
    server_names: list[str] = []
    dialog_open: bool = False
    editing: str = ""
    form: dict[str, str] = DEFAULTS
    env_keys: list[str] = []  # saved keys: their values stay on the server side
    build_keys: list[str] = []  # those of them that are build-time (envkinds.py)
    removed_keys: list[str] = []
    new_env_rows: list[int] = []
    form_error: str = ""
    health_choice: str = "/ping"  # liveness /ping, readiness /_health, or "custom"

    @rx.event
    @authorized("viewer")
    def load(self):
        self.rows = [present.app_row(r) for r in app_records.rows()]
        self.server_names = [s.name for s in servers.list_all()]

    @rx.event
    @authorized("deployer")
    def open_add(self):
        self.server_names = [s.name for s in servers.list_all()]
        if not self.server_names:
            return rx.toast.warning("Add a server first: apps are deployed to a server.")
        self.form = {**DEFAULTS, "server": self.server_names[0]}
        self.health_choice = DEFAULTS["health_path"]
        self.editing, self.env_keys, self.removed_keys, self.build_keys = "", [], [], []
        self.new_env_rows, self.form_error, self.dialog_open = [0], "", True

    @rx.event
    @authorized("deployer")
    def open_edit(self, name: str):
        self.server_names = [s.name for s in servers.list_all()]
        data, self.env_keys = app_records.settings(name)
        self.build_keys = data.pop("build_env_keys", [])
        self.form = present.form(data)
        path = self.form["health_path"]
        self.health_choice = path if path in validate.HEALTH_CHOICES else "custom"
        self.editing, self.removed_keys, self.new_env_rows = name, [], []
        self.form_error, self.dialog_open = "", True

    @rx.event
    @authorized("viewer")
    def set_dialog_open(self, value: bool):
        self.dialog_open = value

    @rx.event
    @authorized("deployer")
    def choose_health(self, value: str):
        self.health_choice = value

    @rx.event
    @authorized("deployer")
    def add_env_row(self):
        self.new_env_rows.append(len(self.new_env_rows))

    @rx.event
    @authorized("deployer")
    def toggle_remove_key(self, key: str):
        if key in self.removed_keys:
            self.removed_keys.remove(key)
        else:
            self.removed_keys.append(key)

    @rx.event
    @authorized("deployer")
    def save(self, form: dict):
        data = apps.AppInput(
            name=self.editing or form.get("name", ""),
            server=form.get("server", ""),
            source=form.get("source", ""),
            url=form.get("url", ""),
            **{k: form.get(k, DEFAULTS[k]) for k in SETTINGS if k != "auto_rollback"},
            auto_rollback=bool(form.get("auto_rollback")),  # an unticked box is not sent
        )
        try:
            data.health_path = validate.health_choice(
                form.get("health_choice") or self.health_choice, form.get("health_custom", "")
            )
            changes = self._env_changes(form)
            if self.editing:
                data.cleaned()
                apps.update(self.editing, data)
                apps.set_env(self.editing, changes)
            else:
                data.env = {k: v for k, v in changes.items() if v is not None}
                apps.add(data)
        except (ServiceError, ValidationError) as e:
            self.form_error = str(e)
            return
        self.dialog_open, self.form_error = False, ""
        self.rows = [present.app_row(r) for r in app_records.rows()]
        record(
            "app.update" if self.editing else "app.add",
            f"app:{data.name}",
            detail=("env: " + ", ".join(sorted(changes))) if changes else "",
        )
        if self.editing:
            return rx.toast.success(f"App {data.name} saved; the next deploy uses it.")
        return [rx.toast.success(f"App {data.name} added."), rx.redirect(routes.app_url(data.name))]

    def _env_changes(self, form: dict) -> dict[str, str | None]:
        """New values for saved keys (blank keeps the old one), new pairs, removals."""
        changes: dict[str, str | None] = {}
        for key in self.env_keys:
            if key in self.removed_keys:
                changes[key] = None
            elif value := form.get(f"env_value__{key}", ""):
                changes[key] = value
        for i in self.new_env_rows:
            key, value = (form.get(f"new_key_{i}") or "").strip(), form.get(f"new_value_{i}", "")
            if key:
                changes[key] = value
            elif value:
                raise ValidationError("an env value was given without a key")
        apps.clean_env({k: v for k, v in changes.items() if v is not None})
        return changes
