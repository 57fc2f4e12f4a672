"""The audit log: every change and action, append-only (the database refuses
updates and deletes). Details never hold secret values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, func, select

from rxpanel import db
from rxpanel.models import AuditEvent


def record(
    actor: str,
    action: str,
    target: str = "",
    *,
    address: str = "",
    outcome: str = "ok",
    detail: str = "",
    at: datetime | None = None,
) -> None:
    extra = {"at": at} if at is not None else {}
    with db.session() as s:
        s.add(
            AuditEvent(
                **extra,
                actor=actor[:120],
                action=action,
                target=target[:200],
                address=(address or "")[:64],
                outcome=outcome,
                detail=detail[:1000],
            )
        )


def query(
    *,
    actor: str = "",
    action: str = "",
    target: str = "",
    outcome: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 200,
) -> list[AuditEvent]:
    """Newest first; text filters match a part (actor, target) or a prefix (action)."""
    q = select(AuditEvent)
    if actor:
        q = q.where(col(AuditEvent.actor).contains(actor))
    if action:
        q = q.where(col(AuditEvent.action).startswith(action))
    if target:
        q = q.where(col(AuditEvent.target).contains(target))
    if outcome:
        q = q.where(AuditEvent.outcome == outcome)
    if since:
        q = q.where(AuditEvent.at >= since)
    if until:
        q = q.where(AuditEvent.at < until)
    with db.session() as s:
        return list(s.exec(q.order_by(col(AuditEvent.id).desc()).limit(limit)).all())


def count(action: str, since: datetime, *, actor: str = "", address: str = "") -> int:
    q = (
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == action, AuditEvent.at >= since)
    )
    if actor:
        q = q.where(AuditEvent.actor == actor)
    if address:
        q = q.where(AuditEvent.address == address)
    with db.session() as s:
        return s.exec(q).one()


def tally(
    action: str, since: datetime, *, actor: str = "", address: str = ""
) -> tuple[int, datetime | None]:
    """How many `action` rows since `since` (for this actor or address), and the last one's time."""
    q = select(func.count(), func.max(AuditEvent.at)).where(
        AuditEvent.action == action, AuditEvent.at >= since
    )
    if actor:
        q = q.where(AuditEvent.actor == actor)
    if address:
        q = q.where(AuditEvent.address == address)
    with db.session() as s:
        n, last = s.exec(q).one()
    return n, last


def last_at(action: str, *, actor: str = "", address: str = "") -> datetime | None:
    q = select(func.max(AuditEvent.at)).where(AuditEvent.action == action)
    if actor:
        q = q.where(AuditEvent.actor == actor)
    if address:
        q = q.where(AuditEvent.address == address)
    with db.session() as s:
        return s.exec(q).one()


@dataclass(frozen=True)
class Record:
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    address: str
    outcome: str
    detail: str


def records(**filters) -> list[Record]:
    """The log, newest first, filtered as `query` does."""
    return [
        Record(e.id, e.at, e.actor, e.action, e.target, e.address, e.outcome, e.detail)
        for e in query(**filters)
    ]
