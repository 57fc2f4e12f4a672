"""What the engine reports while it works, and the steps' log lines.

The engine writes nothing itself: it tells a Journal (the worker's records it in
the database; tests keep it in memory). StepLog adds the step lines the UI and
tests read ("▶ name", "✓ name (x s)", "✗ name failed after x s: why"), redaction
and cancellation between steps."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Protocol

from rxpanel.deploy.plan import ReleaseInfo
from rxpanel.secrets import redact


class DeployFailed(RuntimeError):
    """The reason a deployment failed, in plain words."""


class Cancelled(DeployFailed):
    pass


class Journal(Protocol):
    def log(self, line: str, level: str = "info", step: str = "") -> None: ...
    def step_started(self, name: str) -> object: ...
    def step_ended(self, handle: object, status: str, seconds: float) -> None: ...
    def commit_resolved(self, commit: str) -> None: ...
    def release_used(self, release_id: str, commit: str | None = None) -> None: ...
    def release_created(self, release: ReleaseInfo, env: dict[str, str]) -> None: ...
    def release_states(self, release_id: str, state_schema: str) -> None: ...
    def release_status(self, release_id: str, status: str, reason: str | None = None) -> None: ...
    def went_live(self, release_id: str, color: str) -> None: ...
    def port_moved(self, server_id: int, color: str, port: int) -> None: ...
    def host_key_seen(self, server_id: int, key: str) -> None: ...
    def releases_removed(self, release_ids: list[str]) -> None: ...
    def standby_until(self, server_id: int, color: str, release_id: str, at: datetime) -> None: ...
    def schema_migrated(self, server_id: int, revision: str) -> None: ...


class StepLog:
    """Log lines and step rows of one deployment, redacted, step-aware per thread."""

    def __init__(
        self, journal: Journal, secrets: list[str], cancel: threading.Event | None = None
    ):
        self.journal, self.secrets, self.cancel = journal, secrets, cancel
        self._local = threading.local()

    def line(self, text: str, level: str = "info") -> None:
        step = getattr(self._local, "step", "")
        self.journal.log(redact(text, self.secrets), level, step)

    def output(self, text: str) -> None:
        self.line(text, "output")

    def check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled("cancelled by the operator")

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        self.check_cancel()
        outer = getattr(self._local, "step", "")
        self._local.step = name
        handle = self.journal.step_started(name)
        self.line(f"▶ {name}")
        started = time.monotonic()
        try:
            yield
        except BaseException as e:
            took = time.monotonic() - started
            self.journal.step_ended(handle, "failed", took)
            self.line(f"✗ {name} failed after {took:.2f} s: {e}", "error")
            raise
        finally:
            self._local.step = outer
        took = time.monotonic() - started
        self.journal.step_ended(handle, "ok", took)
        self.line(f"✓ {name} ({took:.2f} s)")
