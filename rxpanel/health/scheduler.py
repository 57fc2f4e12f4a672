"""The leader's timetable (APScheduler on the worker's event loop): a sweep per
check interval in use, notification deliveries, hourly rollups and pruning, and
stopping warm standbys whose time has come (at start too: a panel that was down
catches up at once)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from rxpanel.health import alerts, prober, watch
from rxpanel.services import health

log = logging.getLogger("rxpanel.health")
SYNC_EVERY, DELIVER_EVERY, STANDBYS_EVERY = 10, 2, 5  # seconds


class Checks:
    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.scheduler = AsyncIOScheduler(event_loop=loop, timezone=UTC)
        self.client = prober.new_client()

    def start(self) -> None:
        now = datetime.now(UTC)
        job = {"max_instances": 1, "coalesce": True, "replace_existing": True}
        self.scheduler.add_job(
            self.sync, "interval", seconds=SYNC_EVERY, id="sync", next_run_time=now, **job
        )
        self.scheduler.add_job(self.deliver, "interval", seconds=DELIVER_EVERY, id="deliver", **job)
        self.scheduler.add_job(self.keep_bounded, "cron", minute=1, id="rollup", **job)
        self.scheduler.add_job(
            self.standbys, "interval", seconds=STANDBYS_EVERY, id="standbys", next_run_time=now, **job
        )
        self.scheduler.start()

    async def stop(self) -> None:
        self.scheduler.shutdown(wait=False)
        await self.client.aclose()

    async def sync(self) -> None:
        """One sweep job per check interval in use (apps may change their interval)."""
        wanted = set(await asyncio.to_thread(health.intervals))
        have = {
            int(j.id.removeprefix("sweep-"))
            for j in self.scheduler.get_jobs()
            if j.id.startswith("sweep-")
        }
        for interval in wanted - have:
            self.scheduler.add_job(
                self.sweep,
                "interval",
                seconds=interval,
                args=[interval],
                id=f"sweep-{interval}",
                max_instances=1,
                coalesce=True,
                next_run_time=datetime.now(UTC),
            )
        for interval in have - wanted:
            self.scheduler.remove_job(f"sweep-{interval}")

    async def sweep(self, interval: int) -> None:
        targets = await asyncio.to_thread(health.targets, interval)
        changes = await watch.check_apps(self.client, targets)
        for change in changes:
            log.info("%s: %s -> %s (%s)", change.app, change.before, change.after, change.cause)

    async def deliver(self) -> None:
        await alerts.deliver_due(self.client)

    async def keep_bounded(self) -> None:
        hours = await asyncio.to_thread(health.rollup)
        removed = await asyncio.to_thread(health.prune)
        log.info("rolled up %d hour(s); pruned %s", hours, removed)

    async def standbys(self) -> None:
        from rxpanel.worker.hosts import stop_due_standbys

        for stopped in await asyncio.to_thread(stop_due_standbys):
            log.info("standby stopped: %s", stopped)
