"""`rxpanel doctor APP`: what may break the app's build or run, checked on its last
checkout (PASS / WARN / FAIL, one line each); exit 1 when something FAILs."""

from __future__ import annotations

from rxpanel.cli.common import EXIT_FAILED, CliError, actor, print_json, remote


def doctor(a) -> int:
    from rxpanel import actions

    report = actions.doctor_app(a.app, actor(), checkout=a.checkout, probe=not a.no_probe)
    return show(report.as_dict(), a.json)


@remote(doctor)
def doctor_remote(a, panel) -> int:
    if a.checkout:
        raise CliError("--checkout works on the panel host only (unset RXPANEL_URL)")
    probe = "no" if a.no_probe else "yes"
    return show(panel.call("GET", f"/apps/{a.app}/doctor", params={"probe": probe}), a.json)


def show(data: dict, as_json: bool) -> int:
    """Report.as_dict() (or the API's answer) as JSON or one line per finding."""
    if as_json:
        print_json(data)
    else:
        print(f"{data['app']}: {data['source'] or 'no checkout'}")
        for f in data["findings"]:
            print(f"  {f['level']} {f['check']}: {f['message']}")
        print(f"{data['app']}: {data['summary']}")
    return EXIT_FAILED if data["worst"] == "FAIL" else 0


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
