"""The per-app lock on the server: mkdir is atomic, the owner file says who holds it."""

from __future__ import annotations

from rxpanel.deploy.commands.base import AppLayout, q

LOCKED_EXIT = 75  # EX_TEMPFAIL: someone else holds the lock


def acquire(app: AppLayout, owner: str) -> str:
    lock = q(app.lock)
    return (
        f"mkdir -p {q(app.dir)} && "
        f"if mkdir {lock} 2>/dev/null; then printf '%s\\n' {q(owner)} > {lock}/owner; "
        f"else printf 'locked by: %s\\n' \"$(cat {lock}/owner 2>/dev/null || echo unknown)\" >&2; "
        f"exit {LOCKED_EXIT}; fi"
    )


def release(app: AppLayout, owner: str) -> str:
    """Remove the lock only if we still own it."""
    lock = q(app.lock)
    return f'if [ "$(cat {lock}/owner 2>/dev/null)" = {q(owner)} ]; then rm -rf {lock}; fi'


def owner(app: AppLayout) -> str:
    return f"cat {q(app.lock)}/owner 2>/dev/null || true"
