"""Check a server: connect and test what deploys need, item by item."""

from __future__ import annotations

from collections.abc import Iterator

from rxpanel.actions import _host
from rxpanel.actions.actor import Actor, record, require
from rxpanel.services import servers


def check_server(name: str, actor: Actor) -> Iterator:
    """Yields CheckItem(label, ok, detail) as each completes; the audit log gets
    the outcome at the end. An unknown name raises NotFound on the first item."""
    server = servers.get(name)
    require(actor, "deployer", "server.check", f"server:{server.name}")
    failed = 0
    try:
        for item in _host.check_server(server):
            failed += not item.ok
            yield item
    except BaseException:
        failed += 1
        raise
    finally:
        outcome = "failed" if failed else "ok"
        record(actor, "server.check", f"server:{server.name}", outcome=outcome)
