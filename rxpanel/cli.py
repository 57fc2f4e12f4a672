"""The `rxpanel` command: the panel's powers for scripts and terminals.

Every error is one line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import argparse
import getpass
import json
import socket
import sys
import threading
import time
from pathlib import Path

from rxpanel import validate

EXIT_FAILED, EXIT_USAGE = 1, 2


class CliError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not usage + message
        raise CliError(f"{message} (see `{self.prog} --help`)")


def _who() -> str:
    return f"{getpass.getuser()}@{socket.gethostname()}"


def _print_json(data) -> None:
    print(json.dumps(data, indent=2, default=str))


def _table(rows: list[list[str]], header: list[str]) -> None:
    rows = [header, *rows]
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


# -- servers -------------------------------------------------------------------


def server_add(a) -> int:
    from rxpanel.services import servers

    data = servers.ServerInput(
        name=a.name,
        host=a.host,
        port=a.port,
        user=a.user or getpass.getuser(),
        sudo=a.sudo,
        deploy_root=a.deploy_root,
        nginx_conf_dir=a.nginx_conf_dir,
        nginx_cmd=a.nginx_cmd,
        supervisor_conf_dir=a.supervisor_conf_dir,
        supervisorctl_cmd=a.supervisorctl_cmd,
    )
    data.cleaned()  # refuse bad input before looking for the key
    server = servers.add(data, servers.read_key_file(a.key or _default_key()))
    print(
        f"server {server.name} added ({server.user}@{server.host}:{server.port}); "
        f"run `rxpanel server check {server.name}` to test it"
    )
    return 0


def _default_key() -> str:
    for name in ("id_ed25519", "id_ecdsa", "id_rsa"):
        path = Path.home() / ".ssh" / name
        if path.exists():
            return str(path)
    raise CliError("no --key given and no ~/.ssh/id_ed25519, id_ecdsa or id_rsa found")


def server_list(a) -> int:
    from rxpanel.services import servers

    rows = [servers.public(s) for s in servers.list_all()]
    if a.json:
        _print_json(rows)
    elif not rows:
        print("no servers yet: `rxpanel server add NAME --host H`, or `rxpanel sandbox up DIR`")
    else:
        _table(
            [
                [
                    r["name"],
                    f"{r['user']}@{r['host']}:{r['port']}",
                    r["deploy_root"],
                    r["host_key"] or "(not yet connected)",
                ]
                for r in rows
            ],
            ["NAME", "LOGIN", "DEPLOY ROOT", "HOST KEY"],
        )
    return 0


def server_check(a) -> int:
    from rxpanel.deploy.target import check_server
    from rxpanel.services import servers

    failed = 0
    for item in check_server(servers.get(a.name)):
        mark = "✓" if item.ok else "✗"
        print(f"{mark} {item.label}: {item.detail}", flush=True)
        failed += not item.ok
    if failed:
        print(f"{failed} check(s) failed", file=sys.stderr)
        return EXIT_FAILED
    return 0


def server_remove(a) -> int:
    from rxpanel.services import servers

    servers.delete(a.name)
    print(f"server {a.name} removed")
    return 0


def server_forget_key(a) -> int:
    from rxpanel.services import servers

    servers.forget_host_key(a.name)
    print(f"the recorded host key of {a.name} is forgotten; the next connection records a new one")
    return 0


# -- apps ----------------------------------------------------------------------


APP_SETTINGS = (
    "branch",
    "keep_releases",
    "health_path",
    "health_timeout",
    "standby_minutes",
    "check_interval",
    "check_timeout",
    "failure_threshold",
    "auto_rollback",
    "watch_minutes",
)


def app_add(a) -> int:
    from rxpanel.services import apps

    env = dict(validate.env_pair(e) for e in a.env or [])
    settings = {k: getattr(a, k) for k in APP_SETTINGS if getattr(a, k) is not None}
    app = apps.add(
        apps.AppInput(name=a.name, server=a.server, source=a.source, url=a.url, env=env, **settings)
    )
    print(
        f"app {app.name} added: {app.url} (backend ports {app.port_blue}/{app.port_green}); "
        f"run `rxpanel deploy {app.name}`"
    )
    return 0


def app_update(a) -> int:
    from rxpanel.services import apps, servers

    app = apps.get(a.name)
    current = apps.public(app, servers.get_by_id(app.server_id).name)
    changes = {k: getattr(a, k) for k in ("server", "source", "url", *APP_SETTINGS)}
    merged = {k: current[k] for k in ("server", "source", "url", *APP_SETTINGS)}
    merged.update({k: v for k, v in changes.items() if v is not None})
    apps.update(a.name, apps.AppInput(name=a.name, **merged))
    print(f"app {a.name} updated; the next deploy uses the new settings")
    return 0


def _app_setting_flags(s: argparse.ArgumentParser, defaults: bool) -> None:
    s.add_argument("--branch", default="main" if defaults else None)
    s.add_argument("--keep-releases", type=int, help="good releases kept on the server (5)")
    s.add_argument(
        "--health-path", help="checked before the switch and by the health checks (/ping)"
    )
    s.add_argument(
        "--health-timeout", type=int, help="seconds a new release gets to be healthy (60)"
    )
    s.add_argument("--standby-minutes", type=float, help="how long the old colour stays warm (15)")
    s.add_argument("--check-interval", type=int, help="seconds between health checks (30)")
    s.add_argument("--check-timeout", type=float, help="seconds a health check waits (5)")
    s.add_argument(
        "--failure-threshold", type=int, help="failed checks in a row that mean down (3)"
    )
    s.add_argument(
        "--auto-rollback",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="roll back when down within the watch window after a deploy (yes)",
    )
    s.add_argument("--watch-minutes", type=float, help="the watch window after a deploy (5)")


def app_list(a) -> int:
    from rxpanel.services import apps, servers

    names = {s.id: s.name for s in servers.list_all()}
    rows = [apps.public(x, names.get(x.server_id, "")) for x in apps.list_all()]
    if a.json:
        _print_json(rows)
    elif not rows:
        print("no apps yet: `rxpanel app add NAME --server S --source DIR_OR_GIT_URL --url URL`")
    else:
        _table(
            [
                [
                    r["name"],
                    r["server"],
                    r["url"],
                    r["current_release"] or "-",
                    r["live_color"] or "-",
                ]
                for r in rows
            ],
            ["NAME", "SERVER", "URL", "RELEASE", "COLOUR"],
        )
    return 0


def app_env(a) -> int:
    from rxpanel.services import apps

    changes: dict[str, str | None] = {}
    for item in a.set or []:
        key, value = validate.env_pair(item)
        changes[key] = value
    for key in a.unset or []:
        changes[validate.env_key(key)] = None
    app = apps.set_env(a.name, changes) if changes else apps.get(a.name)
    print("env keys: " + (", ".join(sorted(apps.env_of(app))) or "(none)"))
    return 0


def app_remove(a) -> int:
    from rxpanel.deploy.pipeline import remove_from_server
    from rxpanel.services import apps

    app = apps.get(a.name)
    if app.current_release_id or a.purge:
        for line in remove_from_server(app, keep_files=not a.purge):
            print(line, flush=True)
    apps.delete(a.name)
    print(f"app {a.name} removed from the panel")
    return 0


def app_webhook(a) -> int:
    import os

    from rxpanel.services import hooks

    secret = hooks.secret(a.name, rotate=a.rotate)
    base = (os.environ.get("RXPANEL_PUBLIC_URL") or "").rstrip("/")
    url = base + hooks.path(a.name)
    if a.json:
        _print_json({"url": url, "secret": secret})
    else:
        print(
            f"URL:    {url}"
            + ("" if base else "   (on the panel's address; set RXPANEL_PUBLIC_URL)")
        )
        print(f"secret: {secret}")
        print(
            "GitHub/Gitea/Forgejo: content type application/json, this secret; "
            "GitLab: this secret as the token."
        )
    return 0


def deliveries_cmd(a) -> int:
    from rxpanel.services import hooks

    rows = [
        {
            "id": d.id,
            "provider": d.provider,
            "delivery": d.delivery_id,
            "event": d.event,
            "ref": d.ref,
            "commit": d.commit,
            "outcome": d.outcome,
            "status": d.status_code,
            "deployment": d.deployment_id,
            "detail": d.detail,
            "at": d.created_at.isoformat(timespec="seconds"),
        }
        for d in hooks.recent(a.app)
    ]
    if a.json:
        _print_json(rows)
    else:
        _table(
            [
                [
                    str(r["id"]),
                    r["provider"],
                    r["outcome"],
                    str(r["status"]),
                    r["ref"],
                    (r["commit"] or "")[:12],
                    r["at"],
                    r["detail"][:60],
                ]
                for r in rows
            ],
            ["#", "HOST", "OUTCOME", "HTTP", "REF", "COMMIT", "AT", "DETAIL"],
        )
    return 0


def health_cmd(a) -> int:
    from rxpanel.services import apps, health

    app = apps.get(a.app)
    up24, up7 = health.uptime(app.id, 24), health.uptime(app.id, 24 * 7)
    data = {
        "app": app.name,
        "state": app.health_state or "unknown",
        "url": app.url + app.health_path,
        "uptime_24h": up24,
        "uptime_7d": up7,
        "checks": [
            {
                "at": c.checked_at.isoformat(timespec="seconds"),
                "ok": c.ok,
                "status": c.status_code,
                "latency_ms": c.latency_ms,
                "error": c.error,
            }
            for c in health.recent_checks(app.id, 10)
        ],
        "incidents": [
            {
                "state": i.state,
                "cause": i.cause,
                "rolled_back": i.rolled_back,
                "started": i.started_at.isoformat(timespec="seconds"),
                "ended": i.ended_at.isoformat(timespec="seconds") if i.ended_at else None,
            }
            for i in health.incidents(app.id)
        ],
    }
    if a.json:
        _print_json(data)
        return 0
    pct = lambda v: "-" if v is None else f"{v:.2f}%"  # noqa: E731
    print(f"{app.name}: {data['state']} · uptime 24 h {pct(up24)} · 7 d {pct(up7)} · {data['url']}")
    for c in data["checks"]:
        print(
            f"  {c['at']}  {'ok ' if c['ok'] else 'ERR'}  {c['status'] or '-'}  "
            f"{c['latency_ms'] or '-'} ms  {c['error'] or ''}"
        )
    for i in data["incidents"]:
        print(
            f"  incident {i['started']} → {i['ended'] or 'ongoing'}: {i['state']}, {i['cause']}"
            + (" (rolled back)" if i["rolled_back"] else "")
        )
    return 0


def check_cmd(a) -> int:
    from rxpanel.health.watch import check_now
    from rxpanel.services import apps, health

    app = apps.get(a.app)
    if not app.current_release_id:
        raise CliError(f"{app.name} is not deployed yet: nothing to check")
    check_now(app.id)
    last = health.recent_checks(app.id, 1)[0]
    state = apps.get(a.app).health_state
    print(
        f"{app.name}: {'ok' if last.ok else 'failed'} "
        f"({last.status_code or '-'}, {last.latency_ms or '-'} ms{', ' + last.error if last.error else ''}); "
        f"state {state}"
    )
    return 0 if last.ok else EXIT_FAILED


def notify_add(a) -> int:
    from rxpanel.services import notify

    notify.add_channel(a.name, a.kind, a.url)
    print(f"channel {a.name} ({a.kind}) added: it gets health changes and deploy outcomes")
    return 0


def notify_list(a) -> int:
    from rxpanel.services import notify

    rows = [{"name": c.name, "kind": c.kind, "enabled": c.enabled} for c in notify.channels()]
    if a.json:
        _print_json(rows)
    else:
        _table(
            [[r["name"], r["kind"], "yes" if r["enabled"] else "no"] for r in rows],
            ["NAME", "KIND", "ENABLED"],
        )
    return 0


def notify_remove(a) -> int:
    from rxpanel.services import notify

    notify.remove_channel(a.name)
    print(f"channel {a.name} removed")
    return 0


def worker_cmd(a) -> int:
    """Run the deploy runner and the health checks in this process (one leads)."""
    import logging

    from rxpanel import worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    w = worker.Worker()
    print(f"worker {w.id} started (Ctrl-C to stop)", flush=True)
    try:
        w.run()
    except KeyboardInterrupt:
        pass
    return 0


# -- deploy, rollback, releases -----------------------------------------------


def deploy(a) -> int:
    from rxpanel.services import apps, deployments

    app = apps.get(a.app)
    ref = validate.git_ref(a.ref, "ref") if a.ref else None
    dep = deployments.trigger(app.id, kind="deploy", ref=ref, trigger="cli", by=_who())
    return _run_and_follow(app.id, dep.id)


def rollback(a) -> int:
    from rxpanel.services import apps, deployments

    app = apps.get(a.app)
    to = validate.release_id(a.to) if a.to else None
    dep = deployments.trigger(app.id, kind="rollback", ref=to, trigger="cli", by=_who())
    return _run_and_follow(app.id, dep.id)


def _resolve(dep_id: int):
    """Follow `superseded_by` to the deployment that carries the request now."""
    from rxpanel.services import deployments

    dep = deployments.get(dep_id)
    while dep.status == "superseded" and dep.superseded_by:
        dep = deployments.get(dep.superseded_by)
    return dep


def _run_and_follow(app_id: int, dep_id: int) -> int:
    """Run queued work for the app in a thread while printing our deployment's log."""
    from rxpanel.deploy import runner
    from rxpanel.models import DEPLOY_STATES_FINAL
    from rxpanel.services import deployments

    runner.recover()
    cancel = threading.Event()
    worker = threading.Thread(
        target=runner.drain,
        kwargs={
            "app_id": app_id,
            "cancel": cancel,
            "done": lambda: _resolve(dep_id).status in DEPLOY_STATES_FINAL,
        },
        daemon=True,
    )
    worker.start()
    following, last = dep_id, 0
    print(f"deployment #{dep_id} queued", flush=True)
    try:
        while True:
            for row in deployments.logs_after(following, last):
                last = row.id
                _print_log(row)
            dep = deployments.get(following)
            if dep.status == "superseded" and dep.superseded_by:
                print(
                    f"deployment #{following} was replaced by #{dep.superseded_by} "
                    "(a newer request); following it",
                    flush=True,
                )
                following, last = dep.superseded_by, 0
                continue
            if dep.status in DEPLOY_STATES_FINAL and not worker.is_alive():
                break
            time.sleep(0.2)
    except KeyboardInterrupt:
        if deployments.cancel_queued(following, "cancelled by the operator (Ctrl-C)"):
            print("cancelled", file=sys.stderr)
            return 130
        print(
            "cancelling after the current step (Ctrl-C again to leave it running)...",
            file=sys.stderr,
            flush=True,
        )
        cancel.set()
        try:
            worker.join()
        except KeyboardInterrupt:
            return 130
        dep = deployments.get(following)
    for row in deployments.logs_after(following, last):
        _print_log(row)
    if dep.status == "success":
        print(f"deployment #{dep.id} succeeded: {dep.reason}")
        return 0
    print(f"rxpanel: deployment #{dep.id} {dep.status}: {dep.reason}", file=sys.stderr)
    return EXIT_FAILED


def _print_log(row) -> None:
    stamp = row.created_at.strftime("%H:%M:%S")
    indent = "    " if row.level == "output" else ""
    out = sys.stderr if row.level == "error" else sys.stdout
    print(f"{stamp} {indent}{row.line}", file=out, flush=True)


def releases_cmd(a) -> int:
    from rxpanel.services import apps, releases

    app = apps.get(a.app)
    rows = [
        {
            "id": r.id,
            "status": r.status,
            "commit": r.commit,
            "current": r.id == app.current_release_id,
            "created_at": r.created_at.isoformat(timespec="seconds"),
            "live_at": r.live_at.isoformat(timespec="seconds") if r.live_at else None,
            "reason": r.reason,
            "on_server": r.removed_at is None,
        }
        for r in releases.for_app(app.id)
    ]
    if a.json:
        _print_json(rows)
    elif not rows:
        print(f"{app.name} has no releases yet: `rxpanel deploy {app.name}`")
    else:
        _table(
            [
                [
                    ("* " if r["current"] else "  ") + r["id"],
                    r["status"] + ("" if r["on_server"] else " (removed)"),
                    r["commit"][:12],
                    r["live_at"] or "-",
                    r["reason"] or "",
                ]
                for r in rows
            ],
            ["  RELEASE", "STATUS", "COMMIT", "LAST LIVE", "NOTE"],
        )
    return 0


def deployments_cmd(a) -> int:
    from rxpanel.services import apps, deployments

    app = apps.get(a.app)
    rows = [
        {
            "id": d.id,
            "kind": d.kind,
            "status": d.status,
            "trigger": d.trigger,
            "by": d.triggered_by,
            "commit": d.commit,
            "release": d.release_id,
            "created_at": d.created_at.isoformat(timespec="seconds"),
            "reason": d.reason,
        }
        for d in deployments.for_app(app.id)
    ]
    if a.json:
        _print_json(rows)
    else:
        _table(
            [
                [
                    str(r["id"]),
                    r["kind"],
                    r["status"],
                    r["trigger"],
                    r["created_at"],
                    (r["reason"] or "")[:70],
                ]
                for r in rows
            ],
            ["#", "KIND", "STATUS", "TRIGGER", "CREATED", "OUTCOME"],
        )
    return 0


def logs_cmd(a) -> int:
    from rxpanel.services import deployments

    deployments.get(a.id)
    for step in deployments.steps(a.id):
        print(
            f"{step.name:<16} {step.status:<8} {step.duration if step.duration is not None else '-'} s"
        )
    for row in deployments.logs_after(a.id):
        _print_log(row)
    return 0


# -- sandbox, db ---------------------------------------------------------------


def sandbox_up(a) -> int:
    from rxpanel import sandbox

    sb = sandbox.up(a.dir, ssh_port=a.ssh_port, http_port=a.http_port)
    print(
        f"sandbox running in {sb.dir}: sshd on 127.0.0.1:{sb.ssh_port}, "
        f"nginx on 127.0.0.1:{sb.http_port}"
    )
    print("add it as a server with:")
    print(f"  {sb.server_add_line()}")
    return 0


def sandbox_down(a) -> int:
    from rxpanel import sandbox

    sandbox.down(a.dir)
    print(f"sandbox in {a.dir} stopped")
    return 0


def db_upgrade(a) -> int:
    from rxpanel import db, settings

    db.upgrade()
    print(f"database is up to date ({settings.get().db_url.split('://')[0]})")
    return 0


# -- the parser ----------------------------------------------------------------


def build_parser() -> Parser:
    p = Parser(prog="rxpanel", description="Deploy Reflex apps to your servers.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)

    server = sub.add_parser("server", help="SSH targets").add_subparsers(
        dest="sub", required=True, parser_class=Parser
    )
    s = server.add_parser("add", help="store a server (does not connect)")
    s.add_argument("name")
    s.add_argument("--host", required=True)
    s.add_argument("--port", default=22)
    s.add_argument("--user")
    s.add_argument("--key", help="private key file (stored encrypted; not needed afterwards)")
    s.add_argument("--sudo", action=argparse.BooleanOptionalAction, default=False)
    s.add_argument("--deploy-root", default="/srv/rxpanel")
    s.add_argument("--nginx-conf-dir", default="/etc/nginx/conf.d")
    s.add_argument("--nginx-cmd", default="nginx")
    s.add_argument("--supervisor-conf-dir", default="/etc/supervisor/conf.d")
    s.add_argument("--supervisorctl-cmd", default="supervisorctl")
    s.set_defaults(func=server_add)
    s = server.add_parser("list")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=server_list)
    s = server.add_parser("check", help="connect and check what deploys need")
    s.add_argument("name")
    s.set_defaults(func=server_check)
    s = server.add_parser("remove")
    s.add_argument("name")
    s.set_defaults(func=server_remove)
    s = server.add_parser("forget-host-key", help="after a server was really reinstalled")
    s.add_argument("name")
    s.set_defaults(func=server_forget_key)

    app = sub.add_parser("app", help="apps to deploy").add_subparsers(
        dest="sub", required=True, parser_class=Parser
    )
    s = app.add_parser("add")
    s.add_argument("name")
    s.add_argument("--server", required=True)
    s.add_argument("--source", required=True, help="a local directory or a git URL")
    s.add_argument("--url", required=True, help="public URL, e.g. https://app.example.com")
    s.add_argument("--env", action="append", metavar="K=V")
    _app_setting_flags(s, defaults=True)
    s.set_defaults(func=app_add)
    s = app.add_parser("update", help="change an app's settings")
    s.add_argument("name")
    s.add_argument("--server")
    s.add_argument("--source")
    s.add_argument("--url")
    _app_setting_flags(s, defaults=False)
    s.set_defaults(func=app_update)
    s = app.add_parser("list")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=app_list)
    s = app.add_parser("env", help="set or unset env vars (values are never printed)")
    s.add_argument("name")
    s.add_argument("set", nargs="*", metavar="K=V")
    s.add_argument("--unset", action="append", metavar="K")
    s.set_defaults(func=app_env)
    s = app.add_parser("remove", help="stop it, drop its nginx site and programs, forget it")
    s.add_argument("name")
    s.add_argument(
        "--purge", action="store_true", help="also delete its releases and venvs on the server"
    )
    s.set_defaults(func=app_remove)
    s = app.add_parser("webhook", help="the deploy webhook's URL path and secret")
    s.add_argument("name")
    s.add_argument("--json", action="store_true")
    s.add_argument(
        "--rotate", action="store_true", help="make a new secret (the old one stops working)"
    )
    s.set_defaults(func=app_webhook)

    s = sub.add_parser("deploy", help="build and deploy; streams the log")
    s.add_argument("app")
    s.add_argument("--ref", help="branch, tag or commit (default: the app's branch head)")
    s.set_defaults(func=deploy)
    s = sub.add_parser("rollback", help="back to the previous good release, or --to one")
    s.add_argument("app")
    s.add_argument("--to", metavar="RELEASE")
    s.set_defaults(func=rollback)
    s = sub.add_parser("releases")
    s.add_argument("app")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=releases_cmd)
    s = sub.add_parser("deployments")
    s.add_argument("app")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=deployments_cmd)
    s = sub.add_parser("logs", help="a deployment's steps and log")
    s.add_argument("id", type=int)
    s.set_defaults(func=logs_cmd)

    s = sub.add_parser("deliveries", help="webhook deliveries and what came of them")
    s.add_argument("app")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=deliveries_cmd)
    s = sub.add_parser("health", help="health state, uptime, recent checks, incidents")
    s.add_argument("app")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=health_cmd)
    s = sub.add_parser("check", help="check an app's health now")
    s.add_argument("app")
    s.set_defaults(func=check_cmd)
    notify_p = sub.add_parser("notify", help="alert channels").add_subparsers(
        dest="sub", required=True, parser_class=Parser
    )
    s = notify_p.add_parser("add")
    s.add_argument("name")
    s.add_argument("--kind", choices=("webhook", "slack", "discord"), required=True)
    s.add_argument("--url", required=True, help="the incoming webhook URL (stored encrypted)")
    s.set_defaults(func=notify_add)
    s = notify_p.add_parser("list")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=notify_list)
    s = notify_p.add_parser("remove")
    s.add_argument("name")
    s.set_defaults(func=notify_remove)
    s = sub.add_parser("worker", help="run the deploy runner and health checks (one process leads)")
    s.set_defaults(func=worker_cmd)

    sandbox = sub.add_parser("sandbox", help="a local target server").add_subparsers(
        dest="sub", required=True, parser_class=Parser
    )
    s = sandbox.add_parser("up")
    s.add_argument("dir")
    s.add_argument("--ssh-port", type=int)
    s.add_argument("--http-port", type=int)
    s.set_defaults(func=sandbox_up, no_db=True)
    s = sandbox.add_parser("down")
    s.add_argument("dir")
    s.set_defaults(func=sandbox_down, no_db=True)

    dbp = sub.add_parser("db").add_subparsers(dest="sub", required=True, parser_class=Parser)
    dbp.add_parser("upgrade").set_defaults(func=db_upgrade)
    return p


def main(argv: list[str] | None = None) -> int:
    from rxpanel import db
    from rxpanel.deploy.remote import RemoteError
    from rxpanel.sandbox import SandboxError
    from rxpanel.secrets import SecretError
    from rxpanel.services import ServiceError
    from rxpanel.settings import SettingsError

    try:
        args = build_parser().parse_args(argv)
        if not getattr(args, "no_db", False):
            db.upgrade()
        return args.func(args)
    except (
        CliError,
        ServiceError,
        validate.ValidationError,
        RemoteError,
        SandboxError,
        SecretError,
        SettingsError,
    ) as e:
        print(f"rxpanel: {e}", file=sys.stderr)
        return EXIT_USAGE if isinstance(e, CliError | validate.ValidationError) else EXIT_FAILED
    except KeyboardInterrupt:
        print("rxpanel: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - one clear line, not a traceback
        print(f"rxpanel: unexpected error: {e.__class__.__name__}: {e}", file=sys.stderr)
        return EXIT_FAILED
