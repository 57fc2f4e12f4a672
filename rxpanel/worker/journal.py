"""The engine's Journal, recorded in the database through the services.

Log lines are batched (pip prints hundreds): they are written every FLUSH_EVERY
seconds or FLUSH_LINES lines, and always before a step row changes and at close,
so the log and the steps read back in the order they happened."""

from __future__ import annotations

import json
import threading
from datetime import datetime

from rxpanel.deploy.build import env_hash
from rxpanel.deploy.plan import ReleaseInfo
from rxpanel.secrets import encrypt
from rxpanel.services import apps, deployments, placements, releases, servers, standbys

FLUSH_EVERY, FLUSH_LINES = 0.2, 50


class DbJournal:
    def __init__(self, deployment_id: int, app_id: int):
        self.dep_id, self.app_id = deployment_id, app_id
        self._lines: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._flusher = threading.Thread(
            target=self._flush_now_and_then, name=f"journal-{deployment_id}", daemon=True
        )
        self._flusher.start()

    # -- log lines, batched ------------------------------------------------

    def log(self, line: str, level: str = "info", step: str = "") -> None:
        with self._lock:
            self._lines.append((line, step, level))
            full = len(self._lines) >= FLUSH_LINES
        if full:
            self.flush()

    def flush(self) -> None:
        with self._lock:  # held while writing: batches reach the database in order
            lines, self._lines = self._lines, []
            deployments.add_logs(self.dep_id, lines)

    def _flush_now_and_then(self) -> None:
        while not self._stop.wait(FLUSH_EVERY):
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - the next flush (or close) tries again
                pass

    def close(self) -> None:
        self._stop.set()
        self._flusher.join(timeout=5)
        self.flush()

    # -- steps and outcomes ----------------------------------------------

    def step_started(self, name: str) -> int:
        self.flush()
        return deployments.start_step(self.dep_id, name)

    def step_ended(self, handle: int, status: str, seconds: float) -> None:
        self.flush()
        deployments.end_step(handle, status, seconds)

    def commit_resolved(self, commit: str) -> None:
        deployments.set_fields(self.dep_id, commit=commit)

    def release_used(self, release_id: str, commit: str | None = None) -> None:
        fields = {"release_id": release_id} | ({"commit": commit} if commit else {})
        deployments.set_fields(self.dep_id, **fields)

    def release_created(self, release: ReleaseInfo, env: dict[str, str]) -> None:
        releases.create(
            id=release.id,
            app_id=self.app_id,
            commit=release.commit,
            build_key=release.build_key,
            req_hash=release.req_hash,
            env_enc=encrypt(json.dumps(env)),
            env_hash=env_hash(env),
            schema_heads=release.schema_heads,
            database=release.database,
            state_schema=release.state_schema,
        )
        deployments.set_fields(self.dep_id, release_id=release.id)

    def release_states(self, release_id: str, state_schema: str) -> None:
        releases.set_state_schema(release_id, state_schema)

    def release_status(self, release_id: str, status: str, reason: str | None = None) -> None:
        releases.set_status(release_id, status, reason)

    def went_live(self, release_id: str, color: str) -> None:
        apps.set_live(self.app_id, release_id, color)

    def port_moved(self, server_id: int, color: str, port: int) -> None:
        apps.set_port(self.app_id, color, port, server_id=server_id)

    def host_key_seen(self, server_id: int, key: str) -> None:
        servers.record_host_key(server_id, key)

    def releases_removed(self, release_ids: list[str]) -> None:
        releases.mark_removed(release_ids)

    def standby_until(self, server_id: int, color: str, release_id: str, at: datetime) -> None:
        standbys.record(self.app_id, server_id, color, release_id, at)

    def schema_migrated(self, server_id: int, revision: str) -> None:
        placements.set_db_revision(self.app_id, server_id, revision)
