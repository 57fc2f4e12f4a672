"""deploy/commands/nginx.py: installing a site with `nginx -t` and a way back, removing it
(exact strings, syntax, behaviour)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from rxpanel.deploy.commands import nginx, release

from ._support import (
    APP,
    SANDBOX_APP,
    SHELLS,
    SUDO_APP,
    World,
    assert_syntax,
    syntax_cases,
)

EXACT = [
    pytest.param(
        nginx.install_site(APP, "/srv/rxpanel/demo/tmp/site.conf", "demo.example"),
        "{ rm -f /srv/rxpanel/demo/site.prev; "
        "[ ! -f /etc/nginx/conf.d/rxpanel-demo.conf ] || cp -p /etc/nginx/conf.d/rxpanel-demo.conf /srv/rxpanel/demo/site.prev; "
        "} && "
        "install -m 0644 /srv/rxpanel/demo/tmp/site.conf /etc/nginx/conf.d/rxpanel-demo.conf && "
        "rm -f /srv/rxpanel/demo/tmp/site.conf && "
        "if ! nginx -t 2>/srv/rxpanel/demo/tmp/nginx.out; "
        "then cat /srv/rxpanel/demo/tmp/nginx.out >&2; if [ -f /srv/rxpanel/demo/site.prev ]; "
        "then install -m 0644 /srv/rxpanel/demo/site.prev /etc/nginx/conf.d/rxpanel-demo.conf; "
        "else rm -f /etc/nginx/conf.d/rxpanel-demo.conf; fi; "
        "echo 'nginx -t failed: the previous site config was kept' >&2; exit 1; fi && "
        "if grep -qF -- 'conflicting server name \"demo.example\" on' /srv/rxpanel/demo/tmp/nginx.out; "
        "then cat /srv/rxpanel/demo/tmp/nginx.out >&2; if [ -f /srv/rxpanel/demo/site.prev ]; "
        "then install -m 0644 /srv/rxpanel/demo/site.prev /etc/nginx/conf.d/rxpanel-demo.conf; "
        "else rm -f /etc/nginx/conf.d/rxpanel-demo.conf; fi; "
        "echo 'nginx -t: another site on this server already has server name demo.example: the previous site config was kept' >&2; exit 1; fi && "
        "if ! nginx -s reload 2>/srv/rxpanel/demo/tmp/nginx.out; "
        "then cat /srv/rxpanel/demo/tmp/nginx.out >&2; if [ -f /srv/rxpanel/demo/site.prev ]; "
        "then install -m 0644 /srv/rxpanel/demo/site.prev /etc/nginx/conf.d/rxpanel-demo.conf; "
        "else rm -f /etc/nginx/conf.d/rxpanel-demo.conf; fi; "
        "echo 'nginx reload failed: the previous site config was kept' >&2; exit 1; fi",
        id="nginx.install_site",
    ),
    pytest.param(
        nginx.install_site(SUDO_APP, "/srv/rxpanel/demo/tmp/site.conf", "demo.example"),
        "{ rm -f /srv/rxpanel/demo/site.prev; "
        "[ ! -f /etc/nginx/conf.d/rxpanel-demo.conf ] || cp -p /etc/nginx/conf.d/rxpanel-demo.conf /srv/rxpanel/demo/site.prev; "
        "} && "
        "sudo -n install -m 0644 /srv/rxpanel/demo/tmp/site.conf /etc/nginx/conf.d/rxpanel-demo.conf && "
        "rm -f /srv/rxpanel/demo/tmp/site.conf && "
        "if ! sudo -n nginx -t 2>/srv/rxpanel/demo/tmp/nginx.out; "
        "then cat /srv/rxpanel/demo/tmp/nginx.out >&2; if [ -f /srv/rxpanel/demo/site.prev ]; "
        "then sudo -n install -m 0644 /srv/rxpanel/demo/site.prev /etc/nginx/conf.d/rxpanel-demo.conf; "
        "else sudo -n rm -f /etc/nginx/conf.d/rxpanel-demo.conf; fi; "
        "echo 'nginx -t failed: the previous site config was kept' >&2; exit 1; fi && "
        "if grep -qF -- 'conflicting server name \"demo.example\" on' /srv/rxpanel/demo/tmp/nginx.out; "
        "then cat /srv/rxpanel/demo/tmp/nginx.out >&2; if [ -f /srv/rxpanel/demo/site.prev ]; "
        "then sudo -n install -m 0644 /srv/rxpanel/demo/site.prev /etc/nginx/conf.d/rxpanel-demo.conf; "
        "else sudo -n rm -f /etc/nginx/conf.d/rxpanel-demo.conf; fi; "
        "echo 'nginx -t: another site on this server already has server name demo.example: the previous site config was kept' >&2; exit 1; fi && "
        "if ! sudo -n nginx -s reload 2>/srv/rxpanel/demo/tmp/nginx.out; "
        "then cat /srv/rxpanel/demo/tmp/nginx.out >&2; if [ -f /srv/rxpanel/demo/site.prev ]; "
        "then sudo -n install -m 0644 /srv/rxpanel/demo/site.prev /etc/nginx/conf.d/rxpanel-demo.conf; "
        "else sudo -n rm -f /etc/nginx/conf.d/rxpanel-demo.conf; fi; "
        "echo 'nginx reload failed: the previous site config was kept' >&2; exit 1; fi",
        id="nginx.install_site-sudo",
    ),
    pytest.param(
        nginx.install_site(SANDBOX_APP, "/x/srv/demo/tmp/site.conf", "demo.example"),
        "{ rm -f /x/srv/demo/site.prev; "
        "[ ! -f /x/nginx/rxpanel-demo.conf ] || cp -p /x/nginx/rxpanel-demo.conf /x/srv/demo/site.prev; "
        "} && install -m 0644 /x/srv/demo/tmp/site.conf /x/nginx/rxpanel-demo.conf && "
        "rm -f /x/srv/demo/tmp/site.conf && "
        "if ! /usr/sbin/nginx -c /x/nginx.conf -p /x/ -t 2>/x/srv/demo/tmp/nginx.out; "
        "then cat /x/srv/demo/tmp/nginx.out >&2; if [ -f /x/srv/demo/site.prev ]; "
        "then install -m 0644 /x/srv/demo/site.prev /x/nginx/rxpanel-demo.conf; "
        "else rm -f /x/nginx/rxpanel-demo.conf; fi; "
        "echo 'nginx -t failed: the previous site config was kept' >&2; exit 1; fi && "
        "if grep -qF -- 'conflicting server name \"demo.example\" on' /x/srv/demo/tmp/nginx.out; "
        "then cat /x/srv/demo/tmp/nginx.out >&2; if [ -f /x/srv/demo/site.prev ]; "
        "then install -m 0644 /x/srv/demo/site.prev /x/nginx/rxpanel-demo.conf; "
        "else rm -f /x/nginx/rxpanel-demo.conf; fi; "
        "echo 'nginx -t: another site on this server already has server name demo.example: the previous site config was kept' >&2; exit 1; fi && "
        "if ! /usr/sbin/nginx -c /x/nginx.conf -p /x/ -s reload 2>/x/srv/demo/tmp/nginx.out; "
        "then cat /x/srv/demo/tmp/nginx.out >&2; if [ -f /x/srv/demo/site.prev ]; "
        "then install -m 0644 /x/srv/demo/site.prev /x/nginx/rxpanel-demo.conf; "
        "else rm -f /x/nginx/rxpanel-demo.conf; fi; "
        "echo 'nginx reload failed: the previous site config was kept' >&2; exit 1; fi",
        id="nginx.install_site-sandbox",
    ),
    pytest.param(
        nginx.remove_site(APP),
        "rm -f /etc/nginx/conf.d/rxpanel-demo.conf && nginx -s reload",
        id="nginx.remove_site",
    ),
    pytest.param(
        nginx.remove_site(SUDO_APP),
        "sudo -n rm -f /etc/nginx/conf.d/rxpanel-demo.conf && sudo -n nginx -s reload",
        id="nginx.remove_site-sudo",
    ),
    pytest.param(
        nginx.remove_site(SANDBOX_APP),
        "rm -f /x/nginx/rxpanel-demo.conf && /usr/sbin/nginx -c /x/nginx.conf -p /x/ -s reload",
        id="nginx.remove_site-sandbox",
    ),
]


@pytest.mark.parametrize(("cmd", "expected"), EXACT)
def test_exact_string(cmd, expected):
    assert cmd == expected


def commands(app) -> dict[str, str]:
    return {
        "nginx.install_site": nginx.install_site(app, f"{app.tmp}/site.conf", "demo.example"),
        "nginx.remove_site": nginx.remove_site(app),
    }


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize(("name", "cmd"), syntax_cases(commands))
def test_syntax(shell, name, cmd):
    assert_syntax(shell, name, cmd)


def site_world(world: World, old: str | None) -> tuple[Path, Path]:
    app = world.app
    world.run(release.prepare(app))
    site = Path(app.site_conf)
    if old is not None:
        site.write_text(old)
        site.chmod(0o644)
    return Path(app.tmp, "site.conf"), site


NGX = "nginx -c /x/nginx.conf"


def test_install_site_first_time(world):
    tmp, site = site_world(world, old=None)
    tmp.write_text("server { }\n")
    result = world.run(nginx.install_site(world.app, str(tmp), "demo.example"))
    assert result.returncode == 0, result.stderr
    assert site.read_text() == "server { }\n"
    assert stat.S_IMODE(site.stat().st_mode) == 0o644
    assert not tmp.exists()
    assert not Path(world.app.tmp, "nginx-t.log").exists()
    assert world.calls() == [f"{NGX} -t", f"{NGX} -s reload"]


def test_install_site_replaces_a_good_site(world):
    tmp, site = site_world(world, old="old\n")
    tmp.write_text("new\n")
    result = world.run(nginx.install_site(world.app, str(tmp), "demo.example"))
    assert result.returncode == 0, result.stderr
    assert site.read_text() == "new\n"
    assert world.calls() == [f"{NGX} -t", f"{NGX} -s reload"]


def test_install_site_keeps_the_old_site_when_the_test_fails(world):
    tmp, site = site_world(world, old="old\n")
    tmp.write_text("BROKEN;\n")
    result = world.run(nginx.install_site(world.app, str(tmp), "demo.example"))
    assert result.returncode == 1
    assert site.read_text() == "old\n"
    assert stat.S_IMODE(site.stat().st_mode) == 0o644
    assert result.stderr == (
        'nginx: [emerg] unknown directive "BROKEN"\n'
        "nginx -t failed: the previous site config was kept\n"
    )
    assert world.calls() == [f"{NGX} -t"]  # no reload
    assert not tmp.exists()
    assert not Path(world.app.tmp, "nginx-t.log").exists()


def test_install_site_fails_on_a_server_name_another_site_has(world):
    """nginx -t passes (it warns, and would send the name to one site only)."""
    tmp, site = site_world(world, old="old\n")
    tmp.write_text("# CONFLICT demo.example\n")
    result = world.run(nginx.install_site(world.app, str(tmp), "demo.example"))
    assert result.returncode == 1
    assert site.read_text() == "old\n"
    assert result.stderr.splitlines()[-1] == (
        "nginx -t: another site on this server already has server name demo.example: "
        "the previous site config was kept"
    )
    assert world.calls() == [f"{NGX} -t"]  # no reload
    assert not tmp.exists()


def test_install_site_ignores_conflicts_of_other_names(world):
    tmp, site = site_world(world, old="old\n")
    tmp.write_text("# CONFLICT other.example\n")
    result = world.run(nginx.install_site(world.app, str(tmp), "demo.example"))
    assert result.returncode == 0, result.stderr
    assert world.calls() == [f"{NGX} -t", f"{NGX} -s reload"]


def test_install_site_removes_a_broken_first_site(world):
    tmp, site = site_world(world, old=None)
    tmp.write_text("BROKEN;\n")
    result = world.run(nginx.install_site(world.app, str(tmp), "demo.example"))
    assert result.returncode == 1
    assert not site.exists()
    assert world.calls() == [f"{NGX} -t"]


def test_install_site_after_a_failed_one_does_not_restore_a_stale_copy(world):
    tmp, site = site_world(world, old=None)
    Path(world.app.dir, "site.prev").write_text("stale copy from an earlier switch\n")
    tmp.write_text("BROKEN;\n")
    assert world.run(nginx.install_site(world.app, str(tmp), "demo.example")).returncode == 1
    assert not site.exists()


def test_install_site_reports_a_failed_reload(world):
    tmp, _ = site_world(world, old="old\n")
    tmp.write_text("new\n")
    result = world.run(nginx.install_site(world.app, str(tmp), "demo.example"), RELOAD_EXIT="1")
    assert result.returncode == 1


def test_remove_site(world):
    _, site = site_world(world, old="old\n")
    assert world.run(nginx.remove_site(world.app)).returncode == 0
    assert not site.exists()
    assert world.calls() == [f"{NGX} -s reload"]
