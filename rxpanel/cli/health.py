"""`rxpanel health`, `check`, and `notify ...` (alert channels)."""

from __future__ import annotations

from rxpanel.cli.common import EXIT_FAILED, CliError, print_json, record, remote, sub, table


def health(a) -> int:
    from rxpanel.services import apps
    from rxpanel.services import health as service

    app = apps.get(a.app)
    up24, up7 = service.uptime(app.id, 24), service.uptime(app.id, 24 * 7)
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
            for c in service.recent_checks(app.id, 10)
        ],
        "incidents": [
            {
                "state": i.state,
                "cause": i.cause,
                "rolled_back": i.rolled_back,
                "started": i.started_at.isoformat(timespec="seconds"),
                "ended": i.ended_at.isoformat(timespec="seconds") if i.ended_at else None,
            }
            for i in service.incidents(app.id)
        ],
    }
    if a.json:
        print_json(data)
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


@remote(health)
def health_remote(a, panel) -> int:
    data = panel.call("GET", f"/apps/{a.app}/health")
    if a.json:
        print_json(data)
    else:
        print(
            f"{a.app}: {data['state']} · uptime 24 h {data['uptime_24h']} · 7 d {data['uptime_7d']}"
            f" · last check {data['last']} ({data['last_result']})"
        )
        for i in data["incidents"]:
            print(f"  incident {i['started']} → {i['ended']}: {i['state']}, {i['cause']}")
    return 0


def check(a) -> int:
    from rxpanel.health.watch import check_now
    from rxpanel.services import apps
    from rxpanel.services import health as service

    app = apps.get(a.app)
    if not app.current_release_id:
        raise CliError(f"{app.name} is not deployed yet: nothing to check")
    check_now(app.id)
    last = service.recent_checks(app.id, 1)[0]
    print(
        f"{app.name}: {'ok' if last.ok else 'failed'} ({last.status_code or '-'}, "
        f"{last.latency_ms or '-'} ms{', ' + last.error if last.error else ''}); "
        f"state {apps.get(a.app).health_state}"
    )
    return 0 if last.ok else EXIT_FAILED


def notify_add(a) -> int:
    from rxpanel.services import notify

    notify.add_channel(a.name, a.kind, a.url)
    record("notify.add", f"channel:{a.name}", a.kind)
    print(f"channel {a.name} ({a.kind}) added: it gets health changes and deploy outcomes")
    return 0


def notify_list(a) -> int:
    from rxpanel.services import notify

    rows = [{"name": c.name, "kind": c.kind, "enabled": c.enabled} for c in notify.channels()]
    if a.json:
        print_json(rows)
    else:
        table(
            [[r["name"], r["kind"], "yes" if r["enabled"] else "no"] for r in rows],
            ["NAME", "KIND", "ENABLED"],
        )
    return 0


def notify_remove(a) -> int:
    from rxpanel.services import notify

    notify.remove_channel(a.name)
    record("notify.remove", f"channel:{a.name}")
    print(f"channel {a.name} removed")
    return 0


def register(commands) -> None:
    s = commands.add_parser("health", help="health state, uptime, recent checks, incidents")
    s.add_argument("app")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=health)
    s = commands.add_parser("check", help="check an app's health now")
    s.add_argument("app")
    s.set_defaults(func=check)
    channels = sub(commands, "notify", help="alert channels")
    s = channels.add_parser("add")
    s.add_argument("name")
    s.add_argument("--kind", choices=("webhook", "slack", "discord"), required=True)
    s.add_argument("--url", required=True, help="the incoming webhook URL (stored encrypted)")
    s.set_defaults(func=notify_add)
    s = channels.add_parser("list")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=notify_list)
    s = channels.add_parser("remove")
    s.add_argument("name")
    s.set_defaults(func=notify_remove)
