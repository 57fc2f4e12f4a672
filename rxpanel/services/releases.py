"""Releases of an app and which of them retention removes."""

from __future__ import annotations

import secrets as pysecrets

from sqlmodel import col, select

from rxpanel import db
from rxpanel.models import Release, utcnow
from rxpanel.retention import KEPT, choose_removals, usable  # noqa: F401 - re-exported
from rxpanel.services import NotFound


def new_id() -> str:
    return utcnow().strftime("%Y%m%dT%H%M%S") + "-" + pysecrets.token_hex(3)


def create(**fields) -> Release:
    with db.session() as s:
        rel = Release(**fields)
        s.add(rel)
    return rel


def get(release_id: str, app_id: int | None = None) -> Release:
    with db.session() as s:
        rel = s.get(Release, release_id)
    if rel is None or (app_id is not None and rel.app_id != app_id):
        raise NotFound(f"no release {release_id!r} for this app")
    return rel


def for_app(app_id: int) -> list[Release]:
    """Newest first."""
    with db.session() as s:
        q = select(Release).where(Release.app_id == app_id).order_by(col(Release.id).desc())
        return list(s.exec(q).all())


def mark_removed(release_ids: list[str]) -> None:
    """Their files left the server; the status (good, bad) stays as the record."""
    with db.session() as s:
        for rel in s.exec(select(Release).where(col(Release.id).in_(release_ids))):
            rel.removed_at = utcnow()
            s.add(rel)


def set_status(release_id: str, status: str, reason: str | None = None) -> None:
    with db.session() as s:
        rel = s.get(Release, release_id)
        rel.status, rel.reason = status, reason
        s.add(rel)


def reusable(app_id: int, build_key: str) -> Release | None:
    """A usable release of exactly this build (same source, settings and env)."""
    with db.session() as s:
        q = select(Release).where(
            Release.app_id == app_id,
            Release.build_key == build_key,
            col(Release.status).in_(KEPT),
            col(Release.removed_at).is_(None),
        )
        return s.exec(q.order_by(col(Release.id).desc())).first()


def previous_good(app_id: int, current_id: str | None) -> Release | None:
    """The release that was live most recently before the current one."""
    with db.session() as s:
        q = select(Release).where(
            Release.app_id == app_id,
            Release.status == "good",
            Release.id != (current_id or ""),
            col(Release.removed_at).is_(None),
        )
        return s.exec(q.order_by(col(Release.live_at).desc(), col(Release.id).desc())).first()
