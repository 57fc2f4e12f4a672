"""The app page's "Database snapshots": the SQLite copies taken before each
migration, on the app's primary server, and restoring one behind a confirm dialog.
Both ask the server over SSH, so they run in background events; the use cases
(rxpanel.actions) check the role and write the audit log, as for the CLI."""

from __future__ import annotations

import asyncio

import reflex as rx

from rxpanel import actions
from rxpanel.services import ServiceError
from rxpanel.state.auth import AuthState, authorized, current_actor


class SnapshotsState(AuthState):
    snapshots: list[dict[str, str]] = []
    server: str = ""  # the primary, where they are
    note: str = ""  # why there are none by design (PostgreSQL, MySQL)
    error: str = ""  # why they could not be listed, and what to do
    listing: bool = False
    loaded: bool = False  # listed for this page: only on request (it costs an SSH login)
    confirm: dict[str, str] = {}  # the snapshot while the restore dialog is open
    restoring: bool = False
    result: str = ""  # the last restore's outcome, in the server's words
    _app: str = ""

    def _show(self, found) -> None:
        self.server, self.note, self.error = found.server, found.note, ""
        self.snapshots = [
            {"name": s.name, "release": s.release, "taken": _when(s.taken), "file": s.file}
            for s in found.snapshots
        ]

    @rx.event
    @authorized("viewer")
    def forget(self):
        """On mount: what another app's page listed is not this app's. Nothing is
        asked of the server until the operator asks (List)."""
        if self._app != self.router.url.path.rstrip("/").rsplit("/", 1)[-1]:
            self.snapshots, self.server, self.note, self.error = [], "", "", ""
            self.loaded, self.result = False, ""

    @rx.event(background=True)
    @authorized("viewer")
    async def load(self):
        """List the snapshots (on List / Refresh: opening a page connects to nothing)."""
        async with self:
            if self.listing:
                return
            self._app = self.router.url.path.rstrip("/").rsplit("/", 1)[-1]
            self.listing, name = True, self._app
        actor = current_actor()
        try:
            found = await asyncio.to_thread(actions.list_snapshots, name, actor)
        except ServiceError as e:
            async with self:
                self.error, self.snapshots, self.listing = str(e), [], False
            self.loaded = True
            return
        async with self:
            self._show(found)
            self.listing, self.loaded = False, True

    @rx.event
    @authorized("deployer")
    def ask_restore(self, name: str):
        self.confirm = next((s for s in self.snapshots if s["name"] == name), {})

    @rx.event
    @authorized("viewer")
    def close_restore(self, _open: bool = False):
        self.confirm = {}

    @rx.event(background=True)
    @authorized("deployer")
    async def restore(self):
        async with self:
            snap, self.confirm = self.confirm, {}
            if self.restoring or not snap:
                return
            self.restoring, self.result, name = True, "", self._app
        actor = current_actor()
        try:
            done = await asyncio.to_thread(actions.restore_snapshot, name, snap["name"], actor)
        except Exception as e:  # noqa: BLE001 - shown to the operator, cause and fix
            async with self:
                self.restoring, self.result = False, f"Restore failed: {e}"
            yield rx.toast.error(f"Restore of {snap['name']} failed: {e}")
            return
        message = f"{done.message} on {done.server}: {name} now reads the snapshot's data."
        async with self:
            self.restoring, self.result = False, message
        yield rx.toast.success(message)


def _when(stamp: str) -> str:
    """20261201T235000Z -> 2026-12-01 23:50:00 UTC."""
    if len(stamp) != 16:
        return stamp
    return f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]} {stamp[9:11]}:{stamp[11:13]}:{stamp[13:15]} UTC"
