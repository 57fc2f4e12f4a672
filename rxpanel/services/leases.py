"""Named leases with an expiry: how panel processes agree on one leader.

A holder renews before expiry; when it dies, another takes over after the
lease runs out. Works on every database: the row write happens in one
transaction (SQLite serializes writers; elsewhere the row is locked)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from rxpanel import db
from rxpanel.models import Lease, utcnow


def acquire(name: str, holder: str, ttl: float) -> bool:
    """Take or renew the lease; False while someone else holds it."""
    now = utcnow()
    try:
        with db.session() as s:
            lease = s.exec(select(Lease).where(Lease.name == name).with_for_update()).first()
            if lease is None:
                lease = Lease(name=name, holder=holder, expires_at=now)
            elif lease.holder != holder and lease.expires_at > now:
                return False
            lease.holder, lease.expires_at = holder, now + timedelta(seconds=ttl)
            s.add(lease)
        return True
    except IntegrityError:  # two first takers at once: the other one won
        return False


def release(name: str, holder: str) -> None:
    with db.session() as s:
        lease = s.get(Lease, name)
        if lease is not None and lease.holder == holder:
            s.delete(lease)


def holder(name: str) -> str | None:
    with db.session() as s:
        lease = s.get(Lease, name)
        return lease.holder if lease is not None and lease.expires_at > utcnow() else None
