"""The release's persistent data: after the backend is unpacked and before the
migrations run, its shared paths become links into <app>/shared/ on every server,
so the app (and `reflex db migrate`, which runs in the same dir) finds the data
the releases before it wrote. Before the migrations, a snapshot of each SQLite
file (none for a server database: its backups are the operator's); after them,
the database's revision is recorded (the release's alembic heads)."""

from __future__ import annotations

from rxpanel.deploy import schema
from rxpanel.deploy.commands import shared, snapshot
from rxpanel.deploy.fleet import Target
from rxpanel.deploy.recipe import Run


def paths_of(run: Run) -> tuple[str, ...]:
    """Reflex's upload dir, the SQLite files rxconfig.py names, what the operator declared."""
    files, dirs = shared.split((shared.UPLOADS, *run.source.sqlite_files, *run.app.shared_paths))
    return (*files, *(f"{d}/" for d in dirs))


def env_defaults(t: Target) -> dict[str, str]:
    """For Reflex versions that read it; the link covers those that do not."""
    return {"REFLEX_UPLOADED_FILES_DIR": shared.uploads_dir(t.layout)}


def link(run: Run) -> None:
    paths = paths_of(run)

    def one(t: Target) -> None:
        with run.log.step(f"link shared{t.suffix}"):
            t.run(shared.link(t.layout, run.release.id, paths), "linking shared data")
            run.log.line(f"{t.tag}kept in {t.layout.shared}: {', '.join(paths)}")

    run.each(one, "linking the shared data")


def snapshot_first(run: Run) -> None:
    """On the primary, before `reflex db migrate`: a copy of each shared SQLite file,
    or, for PostgreSQL/MySQL, one plain line saying no snapshot is taken."""
    if run.release.database:
        run.log.line(schema.no_snapshot_note(run.release.database))
        return
    databases = snapshot.databases(shared.split(paths_of(run))[0])
    if databases:
        primary = run.primary
        primary.run(
            snapshot.before_migrate(primary.layout, run.release.id, databases),
            "snapshotting the database",
            on_line=run.log.output,
            timeout=600,
        )


def migrated(run: Run) -> None:
    """The primary's database is now at the release's heads (when it has migrations)."""
    if run.release.schema_heads:
        run.journal.schema_migrated(run.primary.plan.server_id, run.release.schema_heads)
