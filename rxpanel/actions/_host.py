"""The one door from use cases to host work: the worker runs it (deploy queue,
SSH checks, removals). Imported lazily, so importing an edge connects to nothing.

MERGE: drop fallback — until the engine branch lands, rxpanel.worker is a plain
module without `runs`/`hosts`; then each function falls back to today's engine."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

from rxpanel.models import App, Server


def drain(app_id: int, done: Callable[[], bool], cancel: threading.Event | None = None) -> None:
    try:
        from rxpanel.worker import runs
    except ImportError:  # MERGE: drop fallback
        from rxpanel.deploy import runner as runs
    runs.drain(app_id=app_id, done=done, cancel=cancel)


def recover() -> list:
    try:
        from rxpanel.worker import runs
    except ImportError:  # MERGE: drop fallback
        from rxpanel.deploy import runner as runs
    return runs.recover()


def check_server(server: Server) -> Iterator:
    try:
        from rxpanel.worker.hosts import check_server as check
    except ImportError:  # MERGE: drop fallback
        from rxpanel.deploy.target import check_server as check
    return check(server)


def remove_app(app: App, keep_files: bool = True, server_name: str | None = None) -> list[str]:
    try:
        from rxpanel.worker.hosts import remove_app as remove
    except ImportError:  # MERGE: drop fallback
        from rxpanel.deploy.pipeline import remove_from_server as remove
    return remove(app, keep_files=keep_files, server_name=server_name)
