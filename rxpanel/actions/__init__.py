"""Use cases, each written once and called by every edge (pages, CLI, HTTP API,
webhooks, health watcher): request a deploy or a rollback, remove an app, check a
server, receive a push, list or restore a database snapshot, run the doctor. They check everything before anything is queued or a
server is touched, and write the audit log with the one Actor type.

Each name is imported from its module on first use (PEP 562), so an edge pays only
for the use cases it calls: `rxpanel rollback` does not import the doctor's httpx
and build code, nor the webhooks."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what __getattr__ returns, for readers and type checkers
    from rxpanel.actions.actor import Actor, record
    from rxpanel.actions.apps import add_app, deploy_key, detach_server, remove_app, update_app
    from rxpanel.actions.deploys import (
        Requested,
        SchemaWarning,
        recover,
        request_deploy,
        request_rollback,
        run_here,
    )
    from rxpanel.actions.doctor import Report, doctor_app
    from rxpanel.actions.hooks import receive_push
    from rxpanel.actions.servers import check_server
    from rxpanel.actions.snapshots import list_snapshots, restore_snapshot

# each exported name -> the module of this package that defines it
_FROM = {
    "Actor": "actor",
    "record": "actor",
    "add_app": "apps",
    "deploy_key": "apps",
    "detach_server": "apps",
    "remove_app": "apps",
    "update_app": "apps",
    "Requested": "deploys",
    "SchemaWarning": "deploys",
    "recover": "deploys",
    "request_deploy": "deploys",
    "request_rollback": "deploys",
    "run_here": "deploys",
    "Report": "doctor",
    "doctor_app": "doctor",
    "receive_push": "hooks",
    "check_server": "servers",
    "list_snapshots": "snapshots",
    "restore_snapshot": "snapshots",
}


def __getattr__(name: str):
    if name not in _FROM:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_FROM[name]}"), name)
    globals()[name] = value  # once: the next lookup is a plain attribute
    return value


__all__ = [
    "Actor",
    "Report",
    "Requested",
    "SchemaWarning",
    "add_app",
    "check_server",
    "deploy_key",
    "detach_server",
    "doctor_app",
    "list_snapshots",
    "receive_push",
    "record",
    "recover",
    "remove_app",
    "request_deploy",
    "request_rollback",
    "restore_snapshot",
    "run_here",
    "update_app",
]
