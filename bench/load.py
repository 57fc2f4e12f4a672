"""A steady loopback load: N requests/s spread over a few paths, counting failures.

A request fails when it errors, times out, or answers anything but 200. As
browsers and HTTP/1.1 clients do (RFC 9112, 9.3.1), a GET whose kept-alive
connection the server closed before answering (nginx's old workers close idle
connections when it reloads) is sent once more, on a new connection; such
retries are counted and shown."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx


@dataclass
class LoadResult:
    sent: int = 0
    failed: int = 0
    reasons: Counter = field(default_factory=Counter)
    by_path: Counter = field(default_factory=Counter)
    retried: int = 0

    def __str__(self) -> str:
        rate = 100 * self.failed / self.sent if self.sent else 0.0
        why = ", ".join(f"{r} ×{n}" for r, n in self.reasons.most_common(3))
        again = f", {self.retried} retried on a closed kept-alive connection" * bool(self.retried)
        return f"{self.failed}/{self.sent} failed ({rate:.1f}%){': ' + why if why else ''}{again}"


class Load:
    """Use as a context manager around the operation under test."""

    def __init__(self, base_url: str, paths: list[str], rate: float = 40.0):
        self.base, self.paths, self.interval = base_url, paths, 1.0 / rate
        self.result = LoadResult()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        time.sleep(0.5)  # catch failures right after the operation returns
        self._stop.set()
        self._thread.join()

    async def _one(self, client: httpx.AsyncClient, path: str) -> None:
        try:
            try:
                r = await client.get(self.base + path)
            except httpx.RemoteProtocolError:  # closed before any answer: send again
                self.result.retried += 1
                r = await client.get(self.base + path, headers={"Connection": "close"})
            ok, why = r.status_code == 200, f"HTTP {r.status_code}"
        except httpx.HTTPError as e:
            ok, why = False, type(e).__name__
        self.result.sent += 1
        self.result.by_path[path] += 1
        if not ok:
            self.result.failed += 1
            self.result.reasons[f"{path} {why}"] += 1

    async def _run(self) -> None:
        limits = httpx.Limits(max_connections=20, max_keepalive_connections=10)
        async with httpx.AsyncClient(timeout=5, limits=limits) as client:
            tasks, i, next_at = set(), 0, time.monotonic()
            while not self._stop.is_set():
                task = asyncio.create_task(self._one(client, self.paths[i % len(self.paths)]))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                i += 1
                next_at += self.interval
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            if tasks:
                await asyncio.gather(*tasks)
