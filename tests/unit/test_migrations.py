"""A panel's database from the first release upgrades with its rows intact."""

from __future__ import annotations

import json

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlmodel import SQLModel

from rxpanel import db, models  # noqa: F401  (registers the tables)

FIRST = "396f0a4dfe1d"  # servers apps releases deployments
TWO_SHAPES = "3293d941181f"  # the last with App.server_id/port_* beside appserver rows


def test_an_old_database_upgrades_with_its_data(home):
    # `home` is already at the newest revision: start again from the first one
    (home / "rxpanel.db").unlink()
    db.engine().dispose()
    cfg = db.alembic_config()
    command.upgrade(cfg, FIRST)
    with db.engine().begin() as conn:
        conn.execute(
            text(
                "insert into server (name, host, port, user, ssh_key_enc, sudo, deploy_root, "
                "nginx_conf_dir, nginx_cmd, supervisor_conf_dir, supervisorctl_cmd, created_at) "
                "values ('web1', '10.0.0.1', 22, 'deploy', 'k', 0, '/srv/rxpanel', '/etc/nginx/conf.d', "
                "'nginx', '/etc/supervisor/conf.d', 'supervisorctl', '2026-01-01 00:00:00')"
            )
        )
        conn.execute(
            text(
                "insert into app (name, server_id, source, branch, url, env_enc, keep_releases, "
                "health_path, health_timeout, standby_minutes, port_blue, port_green, live_color, "
                "current_release_id, created_at) values ('shop', 1, '/src', 'main', "
                "'https://shop.example', 'e', 5, '/ping', 60, 15, 8100, 8101, 'blue', "
                "'20260101T000000-aaaaaa', '2026-01-01 00:00:00')"
            )
        )
        conn.execute(
            text(
                "insert into release (id, app_id, [commit], build_key, req_hash, env_enc, env_hash, "
                "status, created_at) values ('20260101T000000-aaaaaa', 1, 'c', 'k', 'h', 'x', '', "
                "'live', '2026-01-01 00:00:00')"
            )
        )
        conn.execute(
            text(
                "insert into deployment (app_id, kind, trigger, triggered_by, status, created_at) "
                "values (1, 'deploy', 'cli', 'me', 'success', '2026-01-01 00:00:00')"
            )
        )
    db.upgrade()
    heads = set(ScriptDirectory.from_config(cfg).get_heads())
    with db.engine().connect() as conn:
        assert {conn.execute(text("select version_num from alembic_version")).scalar_one()} == heads
        row = conn.execute(
            text("select name, current_release_id, check_interval, auto_rollback from app")
        ).one()
        assert tuple(row) == ("shop", "20260101T000000-aaaaaa", 30, 1)
        placed = conn.execute(
            text('select app_id, server_id, port_blue, port_green, "primary" from appserver')
        ).all()
        assert [tuple(p) for p in placed] == [(1, 1, 8100, 8101, 1)]
        assert conn.execute(text("select count(*) from deployment")).scalar_one() == 1
        assert conn.execute(text("select status from release")).scalar_one() == "live"
        assert conn.execute(text("pragma foreign_key_check")).all() == []


def _server(conn, name: str) -> None:
    conn.execute(
        text(
            "insert into server (name, host, port, user, ssh_key_enc, sudo, deploy_root, "
            "nginx_conf_dir, nginx_cmd, supervisor_conf_dir, supervisorctl_cmd, created_at) "
            f"values ('{name}', '10.0.0.1', 22, 'deploy', 'k', 0, '/srv/rxpanel', "
            "'/etc/nginx/conf.d', 'nginx', '/etc/supervisor/conf.d', 'supervisorctl', "
            "'2026-01-01 00:00:00')"
        )
    )


def _app(conn, name: str, server_id: int, blue: int) -> None:
    conn.execute(
        text(
            "insert into app (name, server_id, source, branch, url, env_enc, keep_releases, "
            "health_path, health_timeout, standby_minutes, port_blue, port_green, created_at, "
            "check_interval, check_timeout, failure_threshold, auto_rollback, watch_minutes, "
            "failure_streak, success_streak) values "
            f"('{name}', {server_id}, '/src', 'main', 'https://{name}.example', 'e', 5, '/ping', "
            f"60, 15, {blue}, {blue + 1}, '2026-01-01 00:00:00', 30, 5, 3, 1, 5, 0, 0)"
        )
    )


PLACED = 'select a.name, s.name, p.port_blue, p.port_green, p."primary" from appserver p ' + (
    "join app a on a.id = p.app_id join server s on s.id = p.server_id order by a.name, s.name"
)


def test_both_fleet_shapes_become_placement_rows_and_back(home):
    """A single-server app and a fleet app written in the two-shape schema keep
    every server and port in the one placement table, and a downgrade restores them."""
    (home / "rxpanel.db").unlink()
    db.engine().dispose()
    cfg = db.alembic_config()
    command.upgrade(cfg, TWO_SHAPES)
    with db.engine().begin() as conn:
        for name in ("web1", "web2", "web3"):
            _server(conn, name)
        _app(conn, "solo", 1, 8100)
        _app(conn, "fleet", 2, 8100)  # primary web2, further servers web1 and web3
        conn.execute(
            text(
                "insert into appserver (app_id, server_id, port_blue, port_green) "
                "values (2, 1, 8102, 8103), (2, 3, 8100, 8101), (2, 2, 9000, 9001)"
            )
        )  # the last names fleet's primary server again: the primary's ports win
    db.upgrade()
    with db.engine().connect() as conn:
        assert [tuple(r) for r in conn.execute(text(PLACED))] == [
            ("fleet", "web1", 8102, 8103, 0),
            ("fleet", "web2", 8100, 8101, 1),
            ("fleet", "web3", 8100, 8101, 0),
            ("solo", "web1", 8100, 8101, 1),
        ]
        columns = {c[1] for c in conn.execute(text("pragma table_info(app)"))}
        assert not columns & {"server_id", "port_blue", "port_green"}
        assert conn.execute(text("pragma foreign_key_check")).all() == []

    command.downgrade(cfg, TWO_SHAPES)
    with db.engine().connect() as conn:
        apps = conn.execute(
            text("select name, server_id, port_blue, port_green from app order by name")
        ).all()
        assert [tuple(a) for a in apps] == [("fleet", 2, 8100, 8101), ("solo", 1, 8100, 8101)]
        further = conn.execute(
            text(
                "select app_id, server_id, port_blue, port_green from appserver order by server_id"
            )
        ).all()
        assert [tuple(f) for f in further] == [(2, 1, 8102, 8103), (2, 3, 8100, 8101)]
        assert [fk[2:5] for fk in conn.execute(text("pragma foreign_key_list(app)"))] == [
            ("server", "server_id", "id")
        ]
        assert conn.execute(text("pragma foreign_key_check")).all() == []


def test_the_migrated_schema_is_the_models(home):
    """What the revisions build is what the models describe: nothing for autogenerate."""
    with db.engine().connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), SQLModel.metadata) == []


def test_a_current_schema_is_told_by_one_query_and_alembic_stays_the_authority(home, monkeypatch):
    # `home`'s upgrade asked alembic and remembered the heads of these migration files
    assert db._at_known_heads()
    heads = set(ScriptDirectory.from_config(db.alembic_config()).get_heads())
    assert set(json.loads((home / "schema-heads.json").read_text())["heads"]) == heads
    (head,) = heads  # one head, as every merge keeps it
    with db.engine().begin() as conn:  # a database behind: not current
        conn.execute(text("update alembic_version set version_num = :v"), {"v": FIRST})
    assert not db._at_known_heads()
    with db.engine().begin() as conn:
        conn.execute(text("update alembic_version set version_num = :v"), {"v": head})
    assert db._at_known_heads()
    # another set of migration files (a new one, an edited one): alembic decides again
    monkeypatch.setattr(db, "_migrations_digest", lambda: "other files")
    assert not db._at_known_heads()
    (home / "schema-heads.json").write_text("{not json")
    monkeypatch.undo()
    assert not db._at_known_heads()
    db.upgrade()  # asks alembic, finds the schema current, remembers again
    assert db._at_known_heads()
