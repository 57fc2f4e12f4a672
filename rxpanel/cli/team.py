"""`rxpanel user ...`, `token ...` and `audit`: the team, its API tokens, the log."""

from __future__ import annotations

import getpass
import sys

from rxpanel.cli.common import CliError, print_json, record, remote, sub, table


def _password(a) -> str:
    if a.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise CliError("the two passwords differ")
    return first


def user_add(a) -> int:
    from rxpanel.services import setup, users

    user = users.create(a.name, _password(a), a.role)
    record("user.add", f"user:{user.username}", user.role)
    if user.role == "admin":
        setup.discard()  # an admin exists: the first-run token is spent
    print(f"user {user.username} added ({user.role})")
    return 0


def setup_token(a) -> int:
    """The first-run setup token again (on the panel host), while no admin exists."""
    from rxpanel.services import setup

    token = setup.ensure()
    if token is None:
        raise CliError("an admin exists: setup is done (log in, or `rxpanel user add`)")
    print(token)
    return 0


def user_list(a) -> int:
    from rxpanel.services import users

    rows = [
        {
            "name": u.username,
            "role": u.role,
            "disabled": u.disabled,
            "last_login": u.last_login_at.isoformat(timespec="seconds")
            if u.last_login_at
            else None,
        }
        for u in users.list_all()
    ]
    if a.json:
        print_json(rows)
    else:
        table(
            [
                [r["name"], r["role"], "disabled" if r["disabled"] else "", r["last_login"] or "-"]
                for r in rows
            ],
            ["NAME", "ROLE", "", "LAST LOGIN"],
        )
    return 0


def user_set(a) -> int:
    from rxpanel.services import users

    user = users.get(a.name)
    users.admin_update(
        user.id,
        role=a.role,
        disabled=a.disabled,
        password=_password(a) if a.password or a.password_stdin else None,
    )
    changed = [
        f"role {a.role}" if a.role else "",
        {True: "disabled", False: "enabled"}.get(a.disabled, ""),
        "password" if a.password or a.password_stdin else "",
    ]
    record("user.update", f"user:{user.username}", ", ".join(c for c in changed if c))
    print(f"user {user.username} updated")
    return 0


def token_issue(a) -> int:
    from rxpanel.services import tokens, users

    token, plain = tokens.issue(users.get(a.user), a.name, a.scope, a.days)
    record("token.issue", f"user:{a.user}", f"{token.prefix}… {token.scope} '{token.name}'")
    if a.json:
        print_json(
            {
                "id": token.id,
                "token": plain,
                "scope": token.scope,
                "expires_at": token.expires_at.isoformat() if token.expires_at else None,
            }
        )
    else:
        print(f"token #{token.id} for {a.user} ({token.scope}); shown once, keep it safe:")
        print(plain)
    return 0


def token_list(a) -> int:
    from rxpanel.services import tokens, users

    names = {u.id: u.username for u in users.list_all()}
    rows = [
        {
            "id": t.id,
            "user": names.get(t.user_id, "?"),
            "name": t.name,
            "prefix": t.prefix,
            "scope": t.scope,
            "expires_at": t.expires_at.isoformat() if t.expires_at else None,
            "revoked": t.revoked_at is not None,
            "last_used": t.last_used_at.isoformat(timespec="seconds") if t.last_used_at else None,
        }
        for t in tokens.for_user()
    ]
    if a.json:
        print_json(rows)
    else:
        table(
            [
                [
                    str(r["id"]),
                    r["user"],
                    r["name"],
                    r["prefix"] + "…",
                    r["scope"],
                    "revoked" if r["revoked"] else (r["expires_at"] or "no expiry")[:19],
                    r["last_used"] or "-",
                ]
                for r in rows
            ],
            ["#", "USER", "NAME", "TOKEN", "SCOPE", "EXPIRES", "LAST USED"],
        )
    return 0


def token_revoke(a) -> int:
    from rxpanel.services import tokens, users

    admin = next((u for u in users.list_all() if u.role == "admin"), None)
    if admin is None:
        raise CliError("no admin exists: create one first")
    token = tokens.revoke(a.id, admin)
    record("token.revoke", f"token:{token.id}", f"{token.prefix}…")
    print(f"token #{token.id} revoked")
    return 0


def show_audit(rows: list[dict], as_json: bool) -> int:
    if as_json:
        print_json(rows)
    else:
        table(
            [
                [
                    r["at"][:19],
                    r["actor"],
                    r["action"],
                    r["target"],
                    r["outcome"],
                    r["address"],
                    r["detail"][:60],
                ]
                for r in rows
            ],
            ["AT", "ACTOR", "ACTION", "TARGET", "OUTCOME", "FROM", "DETAIL"],
        )
    return 0


def audit(a) -> int:
    from rxpanel.present import as_json
    from rxpanel.services import audit as service

    rows = service.records(
        actor=a.actor or "",
        action=a.action or "",
        target=a.target or "",
        outcome=a.outcome or "",
        limit=a.limit,
    )
    return show_audit(as_json(rows), a.json)


@remote(audit)
def audit_remote(a, panel) -> int:
    params = {
        k: v
        for k, v in {
            "actor": a.actor,
            "action": a.action,
            "target": a.target,
            "outcome": a.outcome,
            "limit": a.limit,
        }.items()
        if v
    }
    return show_audit(panel.call("GET", "/audit", params=params), a.json)


def register(commands) -> None:
    people = sub(commands, "user", help="the team (on the panel host)")
    s = people.add_parser("add")
    s.add_argument("name")
    s.add_argument("--role", choices=("admin", "deployer", "viewer"), default="viewer")
    s.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    s.set_defaults(func=user_add)
    s = people.add_parser("list")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=user_list)
    s = people.add_parser("set", help="change a user's role, password, or enable/disable")
    s.add_argument("name")
    s.add_argument("--role", choices=("admin", "deployer", "viewer"))
    s.add_argument("--disable", dest="disabled", action="store_const", const=True, default=None)
    s.add_argument("--enable", dest="disabled", action="store_const", const=False)
    s.add_argument("--password", action="store_true", help="set a new password (prompted)")
    s.add_argument("--password-stdin", action="store_true")
    s.set_defaults(func=user_set)
    s = commands.add_parser(
        "setup-token", help="the first-run setup token (on the panel host, until an admin exists)"
    )
    s.set_defaults(func=setup_token)
    keys = sub(commands, "token", help="API tokens (shown once, stored hashed)")
    s = keys.add_parser("issue")
    s.add_argument("user")
    s.add_argument("--name", required=True)
    s.add_argument("--scope", choices=("read", "deploy", "admin"), default="read")
    s.add_argument("--days", type=int, help="expires after this many days")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=token_issue)
    s = keys.add_parser("list")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=token_list)
    s = keys.add_parser("revoke")
    s.add_argument("id", type=int)
    s.set_defaults(func=token_revoke)
    s = commands.add_parser("audit", help="who did what, when, from where")
    s.add_argument("--json", action="store_true")
    s.add_argument("--actor")
    s.add_argument("--action", help="a prefix: deploy, login, server., ...")
    s.add_argument("--target")
    s.add_argument("--outcome", choices=("ok", "refused", "failed"))
    s.add_argument("--limit", type=int, default=200)
    s.set_defaults(func=audit)
