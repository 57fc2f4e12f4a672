"""`rxpanel deploy`, `rollback`, `releases`, `deployments`, `logs`."""

from __future__ import annotations

import sys
import threading
import time
from datetime import datetime

from rxpanel import validate
from rxpanel.cli.common import EXIT_FAILED, CliError, actor, print_json, remote, table


def deploy(a) -> int:
    from rxpanel import actions

    ref = validate.git_ref(a.ref, "ref") if a.ref else None
    asked = actions.request_deploy(a.app, actor(), ref)
    return _run_and_follow(asked.app.id, asked.deployment.id)


@remote(deploy)
def deploy_remote(a, panel) -> int:
    ref = validate.git_ref(a.ref, "ref") if a.ref else None
    answer = panel.call(
        "POST", f"/apps/{validate.slug(a.app, 'app name')}/deploy", json={"ref": ref} if ref else {}
    )
    return _follow_remote(panel, answer["deployment"])


def rollback(a) -> int:
    from rxpanel import actions

    to = validate.release_id(a.to) if a.to else None
    try:
        asked = actions.request_rollback(a.app, actor(), to, force=a.yes)
    except actions.SchemaWarning as e:
        raise CliError(f"{e.warning}: add --yes to roll back anyway") from None
    return _run_and_follow(asked.app.id, asked.deployment.id)


@remote(rollback)
def rollback_remote(a, panel) -> int:
    to = validate.release_id(a.to) if a.to else None
    body = ({"to": to} if to else {}) | ({"force": True} if a.yes else {})
    answer = panel.call("POST", f"/apps/{validate.slug(a.app, 'app name')}/rollback", json=body)
    return _follow_remote(panel, answer["deployment"])


def _follow_remote(panel, dep_id: int) -> int:
    from rxpanel.client import print_row

    print(f"deployment #{dep_id} queued on the panel", flush=True)
    dep = panel.follow(dep_id, print_row)
    return _outcome(dep_id, dep["status"], dep["reason"])


def _outcome(dep_id: int, status: str, reason: str | None) -> int:
    if status == "success":
        print(f"deployment #{dep_id} succeeded: {reason}")
        return 0
    print(f"rxpanel: deployment #{dep_id} {status}: {reason}", file=sys.stderr)
    return EXIT_FAILED


def _resolve(dep_id: int):
    """Follow `superseded_by` to the deployment that carries the request now."""
    from rxpanel.services import deployments

    dep = deployments.get(dep_id)
    while dep.status == "superseded" and dep.superseded_by:
        dep = deployments.get(dep.superseded_by)
    return dep


def _run_and_follow(app_id: int, dep_id: int) -> int:
    """Run queued work for the app in a thread while printing our deployment's log.
    Ctrl-C cancels a queued deployment, or a running one after its current step."""
    from rxpanel import actions
    from rxpanel.models import DEPLOY_STATES_FINAL
    from rxpanel.services import deployments

    actions.recover()
    cancel = threading.Event()
    worker = threading.Thread(
        target=actions.run_here,
        daemon=True,
        kwargs={
            "app_id": app_id,
            "cancel": cancel,
            "done": lambda: _resolve(dep_id).status in DEPLOY_STATES_FINAL,
        },
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
            time.sleep(0.05)  # the line a rollback ends with shows at once
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
    return _outcome(dep.id, dep.status, dep.reason)


def _print_log(row) -> None:
    indent = "    " if row.level == "output" else ""
    out = sys.stderr if row.level == "error" else sys.stdout
    print(f"{row.created_at.strftime('%H:%M:%S')} {indent}{row.line}", file=out, flush=True)


def show_releases(rows: list[dict], app: str, as_json: bool) -> int:
    if as_json:
        print_json(rows)
    elif not rows:
        print(f"{app} has no releases yet: `rxpanel deploy {app}`")
    else:
        table(
            [
                [
                    ("* " if r["current"] else "  ") + r["id"],
                    r["status"] + ("" if r.get("on_server", True) else " (removed)"),
                    (r["commit"] or "")[:12],
                    r["live_at"] or "-",
                    r["reason"] or "",
                ]
                for r in rows
            ],
            ["  RELEASE", "STATUS", "COMMIT", "LAST LIVE", "NOTE"],
        )
    return 0


def releases(a) -> int:
    from rxpanel.services import apps
    from rxpanel.services import releases as service

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
            "schema_heads": r.schema_heads,
        }
        for r in service.for_app(app.id)
    ]
    return show_releases(rows, app.name, a.json)


@remote(releases)
def releases_remote(a, panel) -> int:
    rows = [
        {
            "id": r["id"],
            "status": r["status"],
            "commit": r["commit"],
            "current": r["current"],
            "created_at": r["created"],
            "live_at": r["live_at"],
            "reason": r["reason"],
            "on_server": r["on_server"],
            "schema_heads": r.get("schema_heads", ""),
        }
        for r in panel.call("GET", f"/apps/{validate.slug(a.app)}/releases")
    ]
    return show_releases(rows, a.app, a.json)


def show_deployments(rows: list[dict], as_json: bool) -> int:
    if as_json:
        print_json(rows)
    else:
        table(
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


def deployments_(a) -> int:
    from rxpanel.services import apps
    from rxpanel.services import deployments as service

    app = apps.get(a.app)
    return show_deployments(
        [
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
            for d in service.for_app(app.id)
        ],
        a.json,
    )


@remote(deployments_)
def deployments_remote(a, panel) -> int:
    rows = panel.call("GET", f"/apps/{validate.slug(a.app)}/deployments")
    return show_deployments(
        [
            {
                "id": r["id"],
                "kind": r["kind"],
                "status": r["status"],
                "trigger": r["trigger"],
                "by": r["by"],
                "commit": r["commit"],
                "release": r["release"],
                "created_at": r["created"],
                "reason": r["reason"],
            }
            for r in rows
        ],
        a.json,
    )


def show_log(steps: list, lines: list) -> int:
    """Steps (deployments.Step) and log lines (deployments.LogLine)."""
    from rxpanel import present

    for step in map(present.step_row, steps):
        print(f"{step['name']:<16} {step['status']:<8} {step['duration']}")
    for row in map(present.log_row, lines):
        indent = "    " if row["level"] == "output" else ""
        print(f"{row['time']} {indent}{row['line']}")
    return 0


def logs(a) -> int:
    from rxpanel.services import deployments

    deployments.detail(a.id)  # NotFound for an unknown id
    return show_log(deployments.steps(a.id), deployments.logs_after(a.id, limit=1_000_000))


@remote(logs)
def logs_remote(a, panel) -> int:
    from rxpanel.services.deployments import LogLine, Step

    data = panel.call("GET", f"/deployments/{a.id}")
    lines = [
        LogLine(r["id"], datetime.fromisoformat(r["created_at"]), r["level"], r["step"], r["line"])
        for r in data["logs"]
    ]
    return show_log([Step(**s) for s in data["steps"]], lines)


def register(commands) -> None:
    s = commands.add_parser("deploy", help="build and deploy; streams the log")
    s.add_argument("app")
    s.add_argument("--ref", help="branch, tag or commit (default: the app's branch head)")
    s.set_defaults(func=deploy)
    s = commands.add_parser("rollback", help="back to the previous good release, or --to one")
    s.add_argument("app")
    s.add_argument("--to", metavar="RELEASE")
    s.add_argument(
        "--yes", action="store_true", help="go on when the database's schema is not the release's"
    )
    s.set_defaults(func=rollback)
    s = commands.add_parser("releases")
    s.add_argument("app")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=releases)
    s = commands.add_parser("deployments")
    s.add_argument("app")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=deployments_)
    s = commands.add_parser("logs", help="a deployment's steps and log")
    s.add_argument("id", type=int)
    s.set_defaults(func=logs)
