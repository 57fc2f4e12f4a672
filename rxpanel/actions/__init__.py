"""Use cases, each written once and called by every edge (pages, CLI, HTTP API,
webhooks, health watcher): request a deploy or a rollback, remove an app, check a
server, receive a push, list or restore a database snapshot, run the doctor. They check everything before anything is queued or a
server is touched, and write the audit log with the one Actor type."""

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
