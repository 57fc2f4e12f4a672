"""Releases of an app and which of them retention removes."""

from __future__ import annotations

import secrets as pysecrets
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select

from rxpanel import db
from rxpanel.models import App, Release, utcnow
from rxpanel.retention import KEPT, choose_removals, usable  # noqa: F401 - re-exported
from rxpanel.services import Conflict, Invalid, NotFound, placements


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


def set_state_schema(release_id: str, state_schema: str) -> None:
    """Its state classes, known once its build compiled (deploy/states.py)."""
    with db.session() as s:
        rel = s.get(Release, release_id)
        rel.state_schema = state_schema
        s.add(rel)


def reusable(app_id: int, build_key: str, env_hash: str | None = None) -> Release | None:
    """A usable release of exactly this build (same source, settings and build-time
    env): the newest with this env snapshot (`env_hash`) if there is one, else the newest."""
    with db.session() as s:
        q = select(Release).where(
            Release.app_id == app_id,
            Release.build_key == build_key,
            col(Release.status).in_(KEPT),
            col(Release.removed_at).is_(None),
        )
        found = s.exec(q.order_by(col(Release.id).desc())).all()
    same_env = [r for r in found if env_hash is not None and r.env_hash == env_hash]
    return (same_env or found or [None])[0]


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


def rollback_choice(
    app_name: str, current_id: str | None, wanted: Release | None, previous: Release | None
) -> Release:
    """The release a rollback brings back: `wanted` if given, else the previous good
    one. Pure: the rules, from rows already read; raises when it could not succeed."""
    if not current_id:
        raise Conflict(f"{app_name} has never been deployed: nothing to roll back to")
    if wanted is None:
        if previous is None:
            raise Conflict("there is no previous good release to roll back to")
        return previous
    if wanted.id == current_id:
        raise Conflict(f"release {wanted.id} is already live")
    if wanted.removed_at is not None:
        raise Conflict(f"release {wanted.id} was removed from the server by retention")
    if wanted.status != "good":
        raise Invalid(
            f"release {wanted.id} is {wanted.status}: only a kept good release can come back"
        )
    return wanted


def rollback_target(app: App, release_id: str | None = None) -> Release:
    """Read what rollback_choice needs and decide (NotFound for an unknown release)."""
    wanted = get(release_id, app.id) if release_id else None
    previous = None if wanted else previous_good(app.id, app.current_release_id)
    return rollback_choice(app.name, app.current_release_id, wanted, previous)


NEWER = "schema newer than this release: rolling back keeps the newer database"
OLDER = "schema older than this release: rolling back does not migrate the database"
OTHER = "schema not this release's: rolling back leaves the database as it is"


def schema_note(target: Release, db_revision: str | None, others: list[Release]) -> str:
    """'' when the database is at the target's alembic head(s) (or where it is is not
    known); else what a rollback to it means for the schema. Pure: rows already read.
    Newer or older by the release that migrated the database to where it is."""
    if db_revision is None or db_revision == target.schema_heads:
        return ""
    migrated_by = [r.id for r in others if r.schema_heads == db_revision]
    if migrated_by and max(migrated_by) > target.id:
        return NEWER
    if migrated_by:
        return OLDER
    return OTHER if target.schema_heads else NEWER


def schema_warning(target: Release, db_revision: str | None, others: list[Release]) -> str:
    """The note with the revisions, for the operator about to roll back ('' if none)."""
    note = schema_note(target, db_revision, others)
    if not note:
        return ""
    heads = target.schema_heads or "no migrations"
    return (
        f"{note} (the database is at alembic revision {db_revision or 'none'}, release "
        f"{target.id} at {heads}); a rollback never touches the data"
    )


def rollback_warning(app: App, target: Release) -> str:
    """schema_warning for a rollback of the app to target, from the stored rows."""
    return schema_warning(target, placements.db_revision(app.id), for_app(app.id))


@dataclass(frozen=True)
class Record:
    """A release as the dashboard, the CLI and the API show it."""

    id: str
    status: str
    commit: str
    created: datetime
    live_at: datetime | None
    reason: str | None
    current: bool
    can_rollback: bool  # rollback_choice would take it
    on_server: bool  # not removed by retention
    schema_heads: str = ""  # where its migrations end, space separated
    schema_note: str = ""  # what rolling back to it means for the schema (schema_note)


def records(app: App, with_removed: bool = False) -> list[Record]:
    """Newest first; releases retention removed only `with_removed`."""
    out = []
    every, db_revision = for_app(app.id), placements.db_revision(app.id)
    for rel in every:
        if rel.removed_at is not None and not with_removed:
            continue
        try:
            rollback_choice(app.name, app.current_release_id, rel, None)
            eligible = True
        except (Conflict, Invalid):
            eligible = False
        out.append(
            Record(
                rel.id,
                rel.status,
                rel.commit,
                rel.created_at,
                rel.live_at,
                rel.reason,
                rel.id == app.current_release_id,
                eligible,
                rel.removed_at is None,
                rel.schema_heads,
                "" if rel.id == app.current_release_id else schema_note(rel, db_revision, every),
            )
        )
    return out
