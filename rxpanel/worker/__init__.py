"""The work that runs beside the web panel: the deploy runner and the health
checks. However many panel processes run, one leads: it holds the 'worker' lease
in the database and renews it; if it dies, another takes over when it expires.

Started by the panel (a lifespan task) or on its own with `rxpanel worker`."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import threading

from rxpanel.services import leases

log = logging.getLogger("rxpanel.worker")
LEASE, TTL = "worker", 20.0  # seconds; renewed every TTL/4


class Worker:
    def __init__(self) -> None:
        self.id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.loop = asyncio.new_event_loop()
        self.stopped = threading.Event()
        self.leading = threading.Event()
        self._runner = None
        self._checks = None

    def start(self) -> Worker:
        threading.Thread(target=self.run, name="rxpanel-worker", daemon=True).start()
        return self

    def run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._main())

    def stop(self) -> None:
        self.stopped.set()

    async def _main(self) -> None:
        try:
            while not self.stopped.is_set():
                try:
                    mine = await asyncio.to_thread(leases.acquire, LEASE, self.id, TTL)
                except Exception as e:  # noqa: BLE001 - a database hiccup is not leadership
                    log.warning("lease renewal failed: %s", e)
                    mine = False
                if mine and not self.leading.is_set():
                    await self._lead()
                elif not mine and self.leading.is_set():
                    await self._follow()
                await asyncio.sleep(TTL / 4)
        finally:
            if self.leading.is_set():
                await self._follow()
                await asyncio.to_thread(leases.release, LEASE, self.id)

    async def _lead(self) -> None:
        from rxpanel.health.scheduler import Checks
        from rxpanel.worker.runs import Runner

        log.info("%s leads: deploy runner and health checks start", self.id)
        self._runner = await asyncio.to_thread(lambda: Runner().start())
        self._checks = Checks(self.loop)
        self._checks.start()
        self.leading.set()

    async def _follow(self) -> None:
        log.info("%s no longer leads", self.id)
        if self._runner is not None:
            self._runner.stop.set()
        if self._checks is not None:
            await self._checks.stop()
        self._runner = self._checks = None
        self.leading.clear()


_worker: Worker | None = None


def start() -> Worker:
    """Start this process's worker (once): it leads or stands by."""
    global _worker
    if _worker is None:
        _worker = Worker().start()
    return _worker
