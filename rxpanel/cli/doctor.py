"""`rxpanel doctor APP`: what may break the app's build or run, checked on its last
checkout (PASS / WARN / FAIL, one line each); exit 1 when something FAILs."""

from __future__ import annotations

from rxpanel.cli.common import EXIT_FAILED, actor, print_json


def doctor(a) -> int:
    from rxpanel import actions
    from rxpanel.deploy.doctor import FAIL

    report = actions.doctor_app(a.app, actor(), checkout=a.checkout, probe=not a.no_probe)
    if a.json:
        print_json(report.as_dict())
    else:
        print(f"{report.app}: {report.source or 'no checkout'}")
        for finding in report.findings:
            print(f"  {finding}")
        print(f"{report.app}: {report.as_dict()['summary']}")
    return EXIT_FAILED if report.worst == FAIL else 0


def register(commands) -> None:
    s = commands.add_parser(
        "doctor", help="check an app's source and settings for what breaks builds and runs"
    )
    s.add_argument("app")
    s.add_argument(
        "--checkout",
        action="store_true",
        help="check out the branch head first (else the last deploy's checkout is checked)",
    )
    s.add_argument("--no-probe", action="store_true", help="do not ask the health path")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=doctor)
