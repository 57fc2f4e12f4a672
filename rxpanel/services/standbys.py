"""When warm standbys are due to stop: written at each switch (one row per app
and server), read by the panel's scheduler, dropped once stopped."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select

from rxpanel import db
from rxpanel.models import StandbyStop, utcnow


def record(app_id: int, server_id: int, color: str, release_id: str, due_at: datetime) -> None:
    """The standby of this app on this server stops at `due_at` (replacing the one before)."""
    with db.session() as s:
        row = s.exec(
            select(StandbyStop).where(
                StandbyStop.app_id == app_id, StandbyStop.server_id == server_id
            )
        ).first() or StandbyStop(app_id=app_id, server_id=server_id, color="", release_id="")
        row.color, row.release_id, row.due_at = color, release_id, due_at
        s.add(row)


def due(now: datetime | None = None) -> list[StandbyStop]:
    """The standbys whose time has come (or passed while the panel was down)."""
    with db.session() as s:
        q = select(StandbyStop).where(col(StandbyStop.due_at) <= (now or utcnow()))
        return list(s.exec(q.order_by(col(StandbyStop.due_at))).all())


def next_due() -> datetime | None:
    with db.session() as s:
        row = s.exec(select(StandbyStop).order_by(col(StandbyStop.due_at))).first()
        return row.due_at if row else None


def done(stop_id: int) -> None:
    with db.session() as s:
        row = s.get(StandbyStop, stop_id)
        if row is not None:
            s.delete(row)
