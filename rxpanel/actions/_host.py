"""The one door from use cases to host work: the worker runs it (deploy queue,
SSH checks, removals). Imported lazily, so importing an edge connects to nothing."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

from rxpanel.models import App, Server


def drain(app_id: int, done: Callable[[], bool], cancel: threading.Event | None = None) -> None:
    from rxpanel.worker import runs

    runs.drain(app_id=app_id, done=done, cancel=cancel)


def recover() -> list:
    from rxpanel.worker import runs

    return runs.recover()


def check_server(server: Server) -> Iterator:
    from rxpanel.worker.hosts import check_server as check

    return check(server)


def remove_app(app: App, keep_files: bool = True, server_name: str | None = None) -> list[str]:
    from rxpanel.worker.hosts import remove_app as remove

    return remove(app, keep_files=keep_files, server_name=server_name)


def list_snapshots(app: App):
    from rxpanel.worker import snapshots

    return snapshots.list_snapshots(app)


def restore_snapshot(app: App, name: str):
    from rxpanel.worker import snapshots

    return snapshots.restore(app, name)
