"""The app lock on every server: taken first, released last (in any case); when a
later step fails, each server's undo list runs before the lock is released."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from rxpanel.deploy.commands import composite, lock, standby
from rxpanel.deploy.fleet import Target
from rxpanel.deploy.recipe import Run
from rxpanel.deploy.remote import RemoteError

STANDBY_WAIT = 15  # seconds a deploy waits for the standby stop to let go
POLL = 0.5


def _open(run: Run, t: Target):
    def seen(key: str) -> None:
        run.journal.host_key_seen(t.plan.server_id, key)

    return run.connect(t.plan, run.plan.secrets, seen)


def take(run: Run) -> None:
    def one(t: Target) -> None:
        try:
            t.remote = _open(run, t)
        except RemoteError as e:
            raise t.fail(str(e)) from None
        _acquire(run, t)

    with run.log.step("lock"):
        run.each(one, "taking the lock")


def _acquire(run: Run, t: Target) -> None:
    deadline = time.monotonic() + STANDBY_WAIT
    while True:
        result = t.run(lock.acquire(t.layout, run.plan.owner), "taking the app lock", check=False)
        if result.ok:
            run.log.line(f"{t.tag}locked {t.layout.lock}")
            t.locked = True
            return
        if result.exit_code != lock.LOCKED_EXIT:
            raise t.fail(f"cannot take the app lock: {result.stderr.strip()}")
        holder = result.stderr.strip().removeprefix("locked by: ")
        if _stale(run, holder):
            run.log.line(f"{t.tag}removing a stale lock left by {holder}")
            t.run(composite.remove_stale_lock(t.layout), "removing a stale lock")
            continue
        if holder != standby.STOP_OWNER or time.monotonic() > deadline:
            raise t.fail(f"{run.app.name} is locked on the server by {holder}")
        time.sleep(POLL)  # the standby stop holds the lock for a moment


def _stale(run: Run, holder: str) -> bool:
    """A lock left by a deployment that has finished (its process died)."""
    if not holder.startswith("deployment #"):
        return False
    number = holder.removeprefix("deployment #").split(" ")[0]
    return number.isdigit() and run.plan.finished(int(number))


def reconnect(run: Run, t: Target):
    if t.remote is None or not t.remote.connected:
        t.remote = _open(run, t)
    return t.remote


def _undo_one(run: Run, t: Target) -> None:
    if not t.undo:
        return
    try:
        remote = reconnect(run, t)
        for command in reversed(t.undo):
            remote.run(command, label="cleanup", check=False, timeout=120)
        run.log.line(f"{t.tag}cleaned up: the previous release keeps serving")
    except Exception as e:  # noqa: BLE001 - the failure itself is already recorded
        run.log.line(f"{t.tag}cleanup failed: {e}", "error")


def undo(run: Run, _error: BaseException) -> None:
    with ThreadPoolExecutor(max(1, len(run.targets))) as pool:
        list(pool.map(lambda t: _undo_one(run, t), run.targets))


def release(run: Run) -> None:
    def free(t: Target) -> None:
        if not t.locked:
            if t.remote is not None:
                t.remote.close()
            return
        for attempt in range(3):
            try:
                reconnect(run, t).run(
                    lock.release(t.layout, run.plan.owner), label="releasing the lock", timeout=60
                )
                run.log.line(f"{t.tag}lock released")
                t.locked = False
                break
            except (RemoteError, OSError) as e:
                if attempt == 2:
                    run.log.line(
                        f"{t.tag}could not release the lock: {e}; the next deploy will remove it",
                        "error",
                    )
                time.sleep(1)
        if t.remote is not None:
            t.remote.close()

    with ThreadPoolExecutor(max(1, len(run.targets))) as pool:
        list(pool.map(free, run.targets))


