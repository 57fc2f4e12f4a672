"""Hostile input on the command line: every argument is refused with exit 2 (1 for a name
that is simply not found), one `rxpanel: ` line on stderr, no traceback; nothing is run or
written."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from tests.integration.hostile.world import LONG, MAX_MESSAGE, run_cli

pytestmark = [pytest.mark.integration, pytest.mark.browser]


@dataclass(frozen=True)
class CliCase:
    id: str
    args: tuple[str, ...]
    says: str
    codes: tuple[int, ...] = (2,)  # 2: refused input; 1 where a name simply is not found
    stdin: str = ""

    def __str__(self) -> str:
        return self.id


def _app_add(name="shop", source="@REPO", url="@URL", *extra: str) -> tuple[str, ...]:
    return ("app", "add", name, "--server", "@SERVER", "--source", source, "--url", url, *extra)


def _server_add(*extra: str, name: str = "evil", host: str = "127.0.0.1") -> tuple[str, ...]:
    return ("server", "add", name, f"--host={host}", "--key", "@KEY", *extra)


NOT_FOUND = (1, 2)
CLI_CASES = [
    CliCase("app-name-semicolon", _app_add("x;touch /tmp/pwn"), r"app name"),
    CliCase("app-name-newline", _app_add("shop\ntouch /tmp/pwn"), r"app name"),
    CliCase("app-name-5000", _app_add("a" * LONG), r"app name .*5000 characters"),
    CliCase("app-url-5000", _app_add(url="http://" + "a" * LONG), r"host .*not a valid hostname"),
    CliCase("app-url-javascript", _app_add(url="javascript:alert(1)"), r"must start with http"),
    CliCase("app-source-subshell", _app_add(source="$(touch /tmp/pwn)"), r"^rxpanel: source "),
    CliCase(
        "app-source-upload-pack",
        _app_add(source="--upload-pack=touch /tmp/pwn"),
        r"^rxpanel: source ",
    ),
    CliCase(
        "app-source-ssh-proxycommand",
        _app_add(source="ssh://-oProxyCommand%3Dtouch%20%2Ftmp%2Fpwn/repo"),
        r"does not name a valid host",
    ),
    CliCase("app-source-5000", _app_add(source="/" + "a" * LONG), r"source directory"),
    CliCase(
        "app-branch-upload-pack",
        _app_add("shop", "@REPO", "@URL", "--branch=--upload-pack=touch /tmp/pwn"),
        r"branch .* is not valid",
    ),
    CliCase("app-env-key-space", _app_add("shop", "@REPO", "@URL", "--env", "A B=1"), r"env key"),
    CliCase(
        "app-health-path-semicolon",
        _app_add("shop", "@REPO", "@URL", "--health-path", "/ping;touch /tmp/pwn"),
        r"health path",
    ),
    CliCase(
        "app-keep-releases-shell",
        _app_add("shop", "@REPO", "@URL", "--keep-releases", "5;id"),
        r"invalid int value",
    ),
    CliCase("server-name-semicolon", _server_add(name="evil;touch /tmp/pwn"), r"server name"),
    CliCase(
        "server-host-proxycommand",
        _server_add(host="-oProxyCommand=touch /tmp/pwn"),
        r"host .*not a valid hostname",
    ),
    CliCase("server-host-5000", _server_add(host="a" * LONG), r"host .*5000 characters"),
    CliCase("server-port-70000", _server_add("--port", "70000"), r"SSH port 70000 is out of range"),
    CliCase("server-port-shell", _server_add("--port", "22;touch /tmp/pwn"), r"is not a number"),
    CliCase(
        "server-user-semicolon", _server_add("--user", "root;touch /tmp/pwn"), r"^rxpanel: user"
    ),
    CliCase("server-root-dotdot", _server_add("--deploy-root", "/srv/../../tmp"), r"deploy root"),
    CliCase(
        "server-nginx-dir-subshell",
        _server_add("--nginx-conf-dir", "/etc/nginx/$(touch /tmp/pwn)"),
        r"nginx conf dir",
    ),
    CliCase(
        "server-nginx-cmd-backticks",
        _server_add("--nginx-cmd", "nginx `touch /tmp/pwn`"),
        r"nginx command",
    ),
    CliCase(
        "server-supervisorctl-and",
        _server_add("--supervisorctl-cmd", "supervisorctl && touch /tmp/pwn"),
        r"supervisorctl command",
    ),
    CliCase(
        "server-check-unknown",
        ("server", "check", "x;touch /tmp/pwn"),
        r"server name .* is not valid|no server",
        (1, 2),
    ),
    CliCase(
        "deploy-ref-upload-pack",
        ("deploy", "@APP", "--ref=--upload-pack=touch /tmp/pwn"),
        r"ref .* is not valid",
    ),
    CliCase(
        "deploy-ref-semicolon",
        ("deploy", "@APP", "--ref", "main;touch /tmp/pwn"),
        r"ref .* not valid",
    ),
    CliCase(
        "deploy-ref-traversal", ("deploy", "@APP", "--ref", "../../etc/passwd"), r"ref .* not valid"
    ),
    CliCase("deploy-ref-5000", ("deploy", "@APP", "--ref", "a" * LONG), r"ref .*5000 characters"),
    CliCase(
        "deploy-app-semicolon",
        ("deploy", "x;touch /tmp/pwn"),
        r"no app named|app name",
        NOT_FOUND,
    ),
    CliCase("deploy-app-5000", ("deploy", "a" * LONG), r"no app named|app name", NOT_FOUND),
    CliCase(
        "rollback-to-traversal",
        ("rollback", "@APP", "--to", "../../../etc"),
        r"is not a release id",
    ),
    CliCase(
        "rollback-to-subshell",
        ("rollback", "@APP", "--to", "x$(touch /tmp/pwn)"),
        r"is not a release id",
    ),
    CliCase(
        "rollback-to-newline",
        ("rollback", "@APP", "--to", "20261121T180102-ab12cd\ntouch /tmp/pwn"),
        r"is not a release id",
    ),
    CliCase("env-value-newline", ("app", "env", "@APP", "GREETING=line1\nline2"), r"env value of"),
    CliCase("env-key-dash", ("app", "env", "@APP", "BAD-KEY=1"), r"env key"),
    CliCase(
        "env-unset-semicolon", ("app", "env", "@APP", "--unset", "A;touch /tmp/pwn"), r"env key"
    ),
    CliCase("env-key-5000", ("app", "env", "@APP", "K" * LONG + "=1"), r"env key .*characters"),
    CliCase(
        "update-url-path",
        ("app", "update", "@APP", "--url", "http://127.0.0.1:1/x;id"),
        r"URL .* must not have a path",
    ),
    CliCase(
        "update-source-ext",
        ("app", "update", "@APP", "--source", "ext::sh -c touch% /tmp/pwn"),
        r"source ",
    ),
    CliCase("logs-id-shell", ("logs", "1;touch /tmp/pwn"), r"invalid int value"),
    CliCase("deliveries-traversal", ("deliveries", "../../etc"), r"no app named|app", NOT_FOUND),
    CliCase(
        "user-add-name-semicolon",
        ("user", "add", "x;touch /tmp/pwn", "--role", "admin", "--password-stdin"),
        r"user name",
        stdin="long-enough-password\n",
    ),
    CliCase(
        "token-name-escapes",
        ("token", "issue", "@ADMIN", "--name", "t\x1b[2J\nforged line", "--scope", "deploy"),
        r"token name",
    ),
]


@pytest.mark.parametrize("case", CLI_CASES, ids=str)
def test_cli_refuses(world, case: CliCase):
    args = world.sub(case.args)
    r = run_cli(world.panel.cli, args, case.stdin)
    shown = f"[{case}] rxpanel {' '.join(a[:60] for a in args)!r}"
    assert r.returncode in case.codes, f"{shown}: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rxpanel: "), f"{shown}: {r.stderr[:2000]}"
    assert "Traceback" not in r.stdout + r.stderr, shown
    assert "unexpected error" not in lines[0], f"{shown}: {lines[0]}"
    assert re.search(case.says, lines[0]), f"{shown}: unclear message {lines[0][:500]!r}"
    assert len(lines[0]) <= MAX_MESSAGE, f"{shown}: a {len(lines[0])}-character message"
    world.assert_untouched(case.id)
