"""`rxpanel app ...`: what to deploy where; and `rxpanel deliveries`."""

from __future__ import annotations

import argparse
import os
import sys

from rxpanel import sources, validate
from rxpanel.cli.common import CliError, actor, print_json, record, remote, sub, table


def add(a) -> int:
    from rxpanel import actions
    from rxpanel.services import apps
    from rxpanel.services.apps import CLI_SETTINGS as SETTINGS

    env = dict(validate.env_pair(e) for e in a.env or [])
    settings = {k: getattr(a, k) for k in SETTINGS if getattr(a, k) is not None}
    primary, *more = a.server  # a fleet: the same app on further servers, all or nothing
    data = apps.AppInput(
        name=a.name, server=primary, source=a.source, url=a.url, env=env, **settings
    )
    data.allow_ip_url = a.allow_ip_url  # admins only: actions.add_app checks the role
    app = actions.add_app(data, actor(), further=more)
    record("app.add", f"app:{app.name}", ("env: " + ", ".join(sorted(env))) if env else "")
    ports = apps.targets(app)[0][1]
    where = (
        f" on {len(a.server)} servers"
        if more
        else f" (backend ports {ports['blue']}/{ports['green']})"
    )
    print(f"app {app.name} added: {app.url}{where}; run `rxpanel deploy {app.name}`")
    if sources.locate(app.source).uses_ssh:
        key = actions.deploy_key(app.name, actor())
        print(f"its deploy key (add it, read-only, on the git host): {key}")
    return 0


def update(a) -> int:
    from rxpanel import actions
    from rxpanel.services import app_records, apps
    from rxpanel.services.apps import CLI_SETTINGS as SETTINGS

    for name in a.add_server or []:
        apps.add_server(a.name, validate.slug(name, "server name"))
        record("app.add_server", f"app:{a.name}", name)
    for name in a.remove_server or []:
        for line in actions.detach_server(a.name, name, actor()):
            print(line, flush=True)
    app = apps.get(a.name)
    current = app_records.public(app)
    fields = ("server", "source", "url", *SETTINGS)
    changed = {k: getattr(a, k) for k in fields if getattr(a, k) is not None}
    data = apps.AppInput(name=a.name, **{**{k: current[k] for k in fields}, **changed})
    data.allow_ip_url = a.allow_ip_url
    actions.update_app(a.name, data, actor())
    record("app.update", f"app:{a.name}", ", ".join(sorted(changed)))
    print(f"app {a.name} updated; the next deploy uses the new settings")
    return 0


def show(rows: list[dict], as_json: bool) -> int:
    if as_json:
        print_json(rows)
    elif not rows:
        print("no apps yet: `rxpanel app add NAME --server S --source DIR_OR_GIT_URL --url URL`")
    else:
        table(
            [
                [
                    r["name"],
                    ", ".join(r.get("servers") or [r["server"]]),
                    r["url"],
                    r["current_release"] or "-",
                    r["live_color"] or "-",
                    r.get("health_state") or "-",
                ]
                for r in rows
            ],
            ["NAME", "SERVERS", "URL", "RELEASE", "COLOUR", "HEALTH"],
        )
    return 0


def list_(a) -> int:
    from rxpanel.services import app_records, apps

    return show([app_records.public(x) for x in apps.list_all()], a.json)


@remote(list_)
def list_remote(a, panel) -> int:
    return show(panel.call("GET", "/apps"), a.json)


def env(a) -> int:
    from rxpanel.services import apps

    changes: dict[str, str | None] = {}
    for item in a.set or []:
        key, value = validate.env_pair(item)
        changes[key] = value
    for key in a.unset or []:
        changes[validate.env_key(key)] = None
    build = {*(a.mark_build or []), *(k for k, v in changes.items() if a.build and v is not None)}
    runtime = set(a.mark_runtime or [])
    if a.build and not build:
        raise validate.ValidationError("--build marks the keys set here: give K=V")
    if changes or build or runtime:
        app = apps.set_env(a.name, changes, build=build, runtime=runtime)
    else:
        app = apps.get(a.name)
    if changes:  # the keys, never the values
        record("app.env", f"app:{a.name}", "set/unset: " + ", ".join(sorted(changes)))
    if build or runtime:
        marks = [f"{k} build" for k in sorted(build)] + [f"{k} runtime" for k in sorted(runtime)]
        record("app.env", f"app:{a.name}", "marked: " + ", ".join(marks))
    built = set(apps.build_keys_of(app))
    keys = [f"{k} (build)" if k in built else k for k in sorted(apps.env_of(app))]
    print("env keys: " + (", ".join(keys) or "(none)"))
    return 0


def remove(a) -> int:
    from rxpanel import actions

    for line in actions.remove_app(a.name, actor(), purge=a.purge):
        print(line, flush=True)
    print(f"app {a.name} removed from the panel")
    return 0


def webhook(a) -> int:
    from rxpanel.services import hooks

    secret = hooks.secret(a.name, rotate=a.rotate)
    if a.rotate:
        record("app.webhook_rotate", f"app:{a.name}")
    base = (os.environ.get("RXPANEL_PUBLIC_URL") or "").rstrip("/")
    url = base + hooks.path(a.name)
    if a.json:
        print_json({"url": url, "secret": secret})
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


KEY_HINT = (
    "add this as a read-only deploy key on your git host (GitHub and Gitea: the repository's "
    "Settings > Deploy keys; GitLab: Settings > Repository > Deploy keys): it is the only "
    "identity the app's ssh:// or git@host:path source is cloned with"
)


def show_key(line: str, as_json: bool, new: bool) -> int:
    if as_json:
        print_json({"deploy_key": line})
        return 0
    print(line)
    note = " The key is new: the old one no longer works for this app." if new else ""
    print(KEY_HINT + "." + note, file=sys.stderr)
    return 0


def deploy_key(a) -> int:
    from rxpanel import actions

    return show_key(actions.deploy_key(a.name, actor(), new=a.new), a.json, a.new)


@remote(deploy_key)
def deploy_key_remote(a, panel) -> int:
    if a.new:
        raise CliError("--new changes the key: run it on the panel host")
    return show_key(panel.call("GET", f"/apps/{a.name}")["deploy_key"], a.json, False)


def deliveries(a) -> int:
    from rxpanel.present import as_json
    from rxpanel.services import hooks

    rows = as_json(hooks.deliveries(a.app))
    if a.json:
        print_json(rows)
    else:
        table(
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


def setting_flags(s: argparse.ArgumentParser, defaults: bool) -> None:
    s.add_argument("--branch", default="main" if defaults else None)
    s.add_argument("--keep-releases", type=int, help="good releases kept on the server (5)")
    s.add_argument(
        "--shared-paths",
        help="paths kept across releases, comma separated; dirs end with / (data.db,media/)",
    )
    s.add_argument(
        "--health-path",
        help="checked before the switch and by the health checks: /ping (liveness, the "
        "default), /_health (readiness: database and Redis too) or a path of the app's own",
    )
    s.add_argument(
        "--health-timeout", type=int, help="seconds a new release gets to be healthy (60)"
    )
    s.add_argument("--standby-minutes", type=float, help="how long the old colour stays warm (15)")
    s.add_argument(
        "--stop-drain",
        type=int,
        help="seconds a stopping colour gets to finish its requests before it is killed (10, at most 120)",
    )
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
    for flag, what in (
        ("--build-memory-mb", "memory (MB)"),
        ("--build-cpu-seconds", "CPU time (s)"),
        ("--build-timeout", "wall clock (s)"),
    ):
        s.add_argument(
            flag,
            metavar="N",
            help=f"each build step's {what}; 'default': the panel's (RXPANEL_{flag[2:].upper().replace('-', '_')})",
        )
    s.add_argument(
        "--drain-seconds",
        type=float,
        help="after the switch, how long tabs still on the old colour get before it is "
        "restarted (it stays warm) and they reconnect to the new one (10)",
    )
    s.add_argument(
        "--state-store",
        choices=("server", "off"),
        help="where open tabs keep their state: server (a Redis of the app's own on each "
        "server, shared by blue and green: tabs keep their state through a deploy; the "
        "default) or off (in the backend's memory). A REFLEX_REDIS_URL in the app's env wins",
    )
    s.add_argument(
        "--workers",
        type=int,
        help="backend worker processes per colour (1); more than one needs the state store "
        "(they share the tabs' state through it)",
    )
    s.add_argument(
        "--on-new-release",
        choices=("reload", "notice"),
        help="a tab still on the previous release after a deploy: reload (when the user is "
        "not typing or clicking; its state is kept; the default) or notice (a 'new version "
        "— reload' bar, the user reloads)",
    )
    s.add_argument(
        "--on-state-change",
        choices=("reset", "refuse"),
        help="when a deploy's state classes are not the live release's (a class removed or "
        "its fields changed): reset (clear the stored state of open tabs right after the "
        "switch; the default) or refuse (fail the deploy before it starts anything)",
    )
    s.add_argument(
        "--allow-old-pushes",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="deploy a pushed commit older than the live one, e.g. a replayed push (no)",
    )
    s.add_argument(
        "--allow-ip-url",
        action="store_true",
        help="admins: allow an IP-address URL or a catch-all name (_, *.example.com); "
        "its nginx site takes requests meant for other sites",
    )


def register(commands) -> None:
    app = sub(commands, "app", help="apps to deploy")
    s = app.add_parser("add")
    s.add_argument("name")
    s.add_argument(
        "--server",
        required=True,
        action="append",
        help="where it runs; repeat for a fleet (the first is the primary)",
    )
    s.add_argument(
        "--source",
        required=True,
        help="a git URL (https://, ssh://, git@host:path), or a local directory under "
        "RXPANEL_SOURCE_ROOTS",
    )
    s.add_argument("--url", required=True, help="public URL, e.g. https://app.example.com")
    s.add_argument("--env", action="append", metavar="K=V")
    setting_flags(s, defaults=True)
    s.set_defaults(func=add)
    s = app.add_parser("update", help="change an app's settings")
    s.add_argument("name")
    s.add_argument("--server")
    s.add_argument("--source")
    s.add_argument("--url")
    s.add_argument("--add-server", action="append", metavar="S", help="deploy to S too")
    s.add_argument(
        "--remove-server",
        action="append",
        metavar="S",
        help="stop deploying to S (its programs and nginx site there are removed)",
    )
    setting_flags(s, defaults=False)
    s.set_defaults(func=update)
    s = app.add_parser("list")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=list_)
    s = app.add_parser("env", help="set or unset env vars (values are never printed)")
    s.add_argument("name")
    s.add_argument("set", nargs="*", metavar="K=V")
    s.add_argument("--unset", action="append", metavar="K")
    s.add_argument(
        "--build",
        action="store_true",
        help="the keys set here are build-time: reflex export sees them, a change builds "
        "(REFLEX_* always are; the others are runtime: a change restarts, no build)",
    )
    s.add_argument("--mark-build", action="append", metavar="K", help="make a set key build-time")
    s.add_argument("--mark-runtime", action="append", metavar="K", help="make a key runtime")
    s.set_defaults(func=env)
    s = app.add_parser("remove", help="stop it, drop its nginx site and programs, forget it")
    s.add_argument("name")
    s.add_argument(
        "--purge", action="store_true", help="also delete its releases and venvs on the server"
    )
    s.set_defaults(func=remove)
    s = app.add_parser("webhook", help="the deploy webhook's URL path and secret")
    s.add_argument("name")
    s.add_argument("--json", action="store_true")
    s.add_argument(
        "--rotate", action="store_true", help="make a new secret (the old one stops working)"
    )
    s.set_defaults(func=webhook)
    s = app.add_parser("deploy-key", help="the app's deploy key to give the git host")
    s.add_argument("name")
    s.add_argument("--json", action="store_true")
    s.add_argument(
        "--new", action="store_true", help="make a new key (the old one stops being used)"
    )
    s.set_defaults(func=deploy_key)
    s = commands.add_parser("deliveries", help="webhook deliveries and what came of them")
    s.add_argument("app")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=deliveries)
