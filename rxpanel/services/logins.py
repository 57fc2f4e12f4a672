"""Logging in, with failures that slow down instead of locking anyone out.

Each failed login is an audit row (`login.failed`), and those rows are what the
limits count, per account and per address, over a window and since the last
successful login. After a few free failures each next attempt must wait twice as
long as the one before it (`try again in N s`), up to a cap: short for an account,
so a stranger failing on the admin's name costs the admin at most that wait and
never a lockout; longer for an address, which is the stranger's own. A refused
attempt is recorded (`login.throttled`) but checks no password and does not count
as a failure, so it does not lengthen the wait.

Blocking work (argon2, the audit inserts) is plain, synchronous code here: the
dashboard calls `login` in a worker thread (asyncio.to_thread)."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from rxpanel.clientaddr import UNKNOWN
from rxpanel.models import User, utcnow
from rxpanel.services import ServiceError, audit, users

WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class Backoff:
    free: int  # failures before any wait
    base: float  # seconds: the first wait
    cap: float  # seconds: the longest wait

    def wait(self, failures: int) -> float:
        if failures < self.free:
            return 0.0
        return min(self.cap, self.base * 2 ** (failures - self.free))


PER_ACCOUNT = Backoff(free=5, base=2, cap=30)
PER_ADDRESS = Backoff(free=10, base=2, cap=900)


class LoginRefused(ServiceError):
    def __init__(self, message: str, retry_after: int = 0):
        super().__init__(message)
        self.retry_after = retry_after


def _now() -> datetime:
    """The limiter's clock; its audit rows carry the same time (tests move it)."""
    return utcnow()


# one login at a time per account name in this process: parallel attempts cannot
# all pass the check before the first failure is recorded
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock(name: str) -> threading.Lock:
    with _locks_guard:
        if len(_locks) > 10_000:
            _locks.clear()
        return _locks.setdefault(name, threading.Lock())


def _wait(rule: Backoff, now: datetime, **who: str) -> float:
    """Seconds still to wait for this account or address (0: go ahead)."""
    since = now - WINDOW
    success = audit.last_at("login", **who)
    if success is not None and success > since:
        since = success
    failures, last = audit.tally("login.failed", since, **who)
    if last is None:
        return 0.0
    return max(0.0, rule.wait(failures) - (now - last).total_seconds())


def retry_after(name: str, address: str, now: datetime | None = None) -> int:
    """Whole seconds until `name` may try again from `address` (0: now)."""
    now = now or _now()
    wait = max(
        _wait(PER_ACCOUNT, now, actor=name),
        _wait(PER_ADDRESS, now, address=address),
    )
    return math.ceil(wait)


def login(username: str, password: str, address: str = "") -> User:
    """The user, or LoginRefused (wrong password, or too soon after failures)."""
    name = (username or "").strip().lower()[:64]
    address = (address or "").strip()[:64] or UNKNOWN
    with _lock(name):
        now = _now()
        wait = retry_after(name, address, now)
        if wait:
            audit.record(
                name,
                "login.throttled",
                f"user:{name}",
                address=address,
                outcome="refused",
                detail=f"wait {wait} s",
                at=now,
            )
            raise LoginRefused(f"too many failed logins: try again in {wait} s", retry_after=wait)
        user = users.authenticate(name, password)
        if user is None:
            audit.record(
                name, "login.failed", f"user:{name}", address=address, outcome="failed", at=_now()
            )
            raise LoginRefused("wrong user name or password")
        audit.record(user.username, "login", f"user:{user.username}", address=address, at=_now())
        return user
