"""Use cases, each written once and called by every edge (pages, CLI, HTTP API,
webhooks, health watcher): request a deploy or a rollback, remove an app, check a
server, receive a push. They check everything before anything is queued or a
server is touched, and write the audit log with the one Actor type."""

from rxpanel.actions.actor import Actor, record
from rxpanel.actions.apps import add_app, detach_server, remove_app, update_app
from rxpanel.actions.deploys import Requested, recover, request_deploy, request_rollback, run_here
from rxpanel.actions.hooks import receive_push
from rxpanel.actions.servers import check_server

__all__ = [
    "Actor",
    "Requested",
    "add_app",
    "check_server",
    "detach_server",
    "receive_push",
    "record",
    "recover",
    "remove_app",
    "request_deploy",
    "request_rollback",
    "run_here",
    "update_app",
]
