"""Work that runs beside the web panel: the deploy runner (and, later, the
health-check scheduler). Exactly one copy per host: the first process to lock
the file in RXPANEL_HOME leads; other workers of the same panel only serve pages."""

from __future__ import annotations

import fcntl
import logging
import os

from rxpanel import settings

log = logging.getLogger("rxpanel.worker")
_lock_fd: int | None = None


def become_leader() -> bool:
    global _lock_fd
    if _lock_fd is not None:
        return True
    fd = os.open(settings.get().home / "worker.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False
    _lock_fd = fd
    return True


def start() -> bool:
    """Start the background work if this process is the leader."""
    if not become_leader():
        log.info("another process runs the deploy runner")
        return False
    from rxpanel.deploy.runner import Runner

    Runner().start()
    log.info("deploy runner started")
    return True
