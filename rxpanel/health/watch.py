"""What the health checks do about what they find: alerts, and the auto-rollback
of a release that goes down inside its watch window."""

from __future__ import annotations

import asyncio

import httpx

from rxpanel import actions
from rxpanel.health import alerts, prober
from rxpanel.services import apps, health, notify, releases
from rxpanel.services.health import Change


def act_on(change: Change) -> None:
    app = apps.get_by_id(change.app_id)
    alerts.tell_health(change, app.url)
    if change.rollback:
        auto_rollback(change)


def auto_rollback(change: Change) -> int | None:
    """Mark the live release bad and queue a rollback to the previous good one."""
    app = apps.get_by_id(change.app_id)
    current = app.current_release_id
    target = releases.previous_good(app.id, current)
    if current is None or target is None:
        notify.enqueue(
            "deploy.auto_rollback",
            f"🔴 {app.name} is down within its watch window, "
            "but there is no previous good release to roll back to.",
            app_id=app.id,
            app=app.name,
            release=current,
        )
        return None
    releases.set_status(current, "bad", f"went down within the watch window: {change.cause}")
    dep = actions.request_rollback(
        app,
        actions.Actor.system(),
        target.id,
        note=f"{current} went down ({change.cause})",
        force=True,  # a down app comes back; its database is kept as it is either way
    ).deployment
    health.mark_rolled_back(app.id)
    notify.enqueue(
        "deploy.auto_rollback",
        f"↩️ {app.name} went down {app.watch_minutes:g} min or less after release "
        f"{current} went live ({change.cause}); it is marked bad and rolling back to "
        f"{target.id} (deployment #{dep.id}).",
        app_id=app.id,
        app=app.name,
        bad_release=current,
        target=target.id,
        deployment=dep.id,
    )
    return dep.id


async def check_apps(client: httpx.AsyncClient, targets: list[prober.Target]) -> list[Change]:
    """Probe, record, and act: one sweep."""
    results = await prober.sweep(client, targets)
    changes = await asyncio.to_thread(health.record, results)
    for change in changes:
        await asyncio.to_thread(act_on, change)
    return changes


def check_now(app_id: int) -> list[Change]:
    """One immediate check of one app (the dashboard's "Check now"), from any process."""

    async def run() -> list[Change]:
        async with prober.new_client(4) as client:
            return await check_apps(client, health.targets(app_id=app_id))

    return asyncio.run(run())
