"""From a target of the plan to an opened SSH connection (the first one tells
the caller the server's host key, to be pinned from then on)."""

from __future__ import annotations

from collections.abc import Callable

from rxpanel.deploy.plan import TargetPlan
from rxpanel.deploy.remote import Remote


def connect(
    target: TargetPlan,
    secrets: list[str] = (),
    on_host_key: Callable[[str], None] | None = None,
) -> Remote:
    remote = Remote(
        host=target.host,
        port=target.port,
        user=target.user,
        private_key=target.private_key,
        host_key=target.host_key,
        on_new_host_key=on_host_key,
        secrets=list(secrets),
    )
    remote.open()
    return remote
