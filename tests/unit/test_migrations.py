"""A panel's database from the first release upgrades with its rows intact."""

from __future__ import annotations

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text

from rxpanel import db

FIRST = "396f0a4dfe1d"  # servers apps releases deployments


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
            text(
                "select name, port_blue, current_release_id, check_interval, auto_rollback from app"
            )
        ).one()
        assert tuple(row) == ("shop", 8100, "20260101T000000-aaaaaa", 30, 1)
        assert conn.execute(text("select count(*) from deployment")).scalar_one() == 1
        assert conn.execute(text("select status from release")).scalar_one() == "live"
        assert conn.execute(text("pragma foreign_key_check")).all() == []
