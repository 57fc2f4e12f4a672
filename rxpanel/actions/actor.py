"""Who asks: one Actor type for every edge, and the one helper that puts what an
actor did in the audit log."""

from __future__ import annotations

import getpass
import socket
from dataclasses import dataclass

from rxpanel.models import ROLES
from rxpanel.services import Forbidden, audit


@dataclass(frozen=True)
class Actor:
    who: str  # as the audit log names it: "ada", "api:ada", "cli:me@host", "webhook:github"
    trigger: str  # how a deployment it asks for is labelled: ui, api, cli, webhook, auto
    by: str  # the deployment's "triggered by"
    address: str = ""
    role: str = ""

    @classmethod
    def user(cls, name: str, role: str = "", address: str = "") -> Actor:
        """A user signed in to the dashboard."""
        return cls(name, "ui", name, address, role)

    @classmethod
    def api(cls, name: str, role: str, address: str = "") -> Actor:
        """A user calling the HTTP API with a token."""
        return cls(f"api:{name}", "api", name, address, role)

    @classmethod
    def cli(cls) -> Actor:
        """The CLI on the panel host: it has the database, so it is trusted as admin."""
        login = f"{getpass.getuser()}@{socket.gethostname()}"
        return cls(f"cli:{login}", "cli", login, "", "admin")

    @classmethod
    def webhook(cls, provider: str, address: str = "") -> Actor:
        return cls(f"webhook:{provider or 'unknown'}", "webhook", provider, address)

    @classmethod
    def system(cls, part: str = "health", by: str = "health watch") -> Actor:
        """The panel itself (the health watcher's auto-rollback)."""
        return cls(f"system:{part}", "auto", by)


def require(actor: Actor, role: str, action: str, target: str) -> None:
    """Refuse (and audit) an actor whose role is below `role`. The edges check
    roles first; this keeps a use case safe whoever calls it. An actor without a
    role is the panel itself or a verified webhook, trusted for what it asks."""
    if actor.role and ROLES.index(actor.role) > ROLES.index(role):
        record(actor, action, target, outcome="refused", detail=f"needs {role}")
        raise Forbidden(f"this needs the {role} role")


def record(
    actor: Actor, action: str, target: str = "", *, outcome: str = "ok", detail: str = ""
) -> None:
    """Put what the actor did (or was refused) in the audit log."""
    audit.record(actor.who, action, target, address=actor.address, outcome=outcome, detail=detail)
