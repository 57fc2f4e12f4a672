"""What the command-builder tests share: the hosts and values they build for, the
reader of simple commands, the `sh -n` check, and the fake server (World) the
behaviour tests run the generated shell in.

The exact-string tests pin what is sent to a server. The behavioural tests run
the generated shell with dash and bash against a temporary directory (fake
`nginx`, `supervisorctl` and `python3` where a real one would need a server),
under a deploy root full of shell metacharacters: every value must arrive
literally, and nothing may run that was not meant to.
"""

from __future__ import annotations

import shlex
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from rxpanel.deploy.commands import AppLayout, Host

RID = "20261121T180102-ab12cd"
RID2 = "20261122T090000-cd34ef"
OWNER = "deployment #7 (cli@box)"
HASH = "0123abcd"

PLAIN = Host()
SUDO = Host(user="deploy", sudo=True)
SANDBOX = Host(
    user="rx",
    deploy_root="/x/srv",
    nginx_conf_dir="/x/nginx",
    nginx_cmd="/usr/sbin/nginx -c /x/nginx.conf -p /x/",
    supervisor_conf_dir="/x/supervisor",
    supervisorctl_cmd="/usr/bin/supervisorctl -c /x/s.conf",
)
SPACED = Host(deploy_root="/srv/my apps")

APP = AppLayout(PLAIN, "demo")
SUDO_APP = AppLayout(SUDO, "demo")
SANDBOX_APP = AppLayout(SANDBOX, "demo")
SPACED_APP = AppLayout(SPACED, "demo")

def as_demo(line: str, root: str = "/srv/rxpanel") -> str:
    """A line as the root login runs it as the demo app's own user."""
    home = shlex.quote(f"{root}/demo/shared/home")
    return f"runuser -u rxa-demo -- env HOME={home} sh -c {shlex.quote(line)}"


SHELLS = ["dash", "bash"]
WEIRD = "we ird 'sq' \"dq\" $(touch pwned1) `touch pwned2` ; touch pwned3 & * \\n"
WEIRD_OWNER = "me 'sq' \"dq\" $(touch pwned4); touch pwned5 & `touch pwned6` C:\\new\\tmp"


# -- reading what a command does ------------------------------------------------------


def simple_commands(cmd: str, privileged: bool = False):
    """(words, privileged) of each simple command in cmd, looking inside `sh -c SCRIPT`.

    A small reader of the lists these builders make (`a && b; c || d | e`,
    `{ ...; }` groups): enough to ask whether a step runs under sudo."""
    lexer = shlex.shlex(cmd, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    words: list[str] = []
    for token in [*lexer, ";"]:
        if token in ("&&", "||", ";", "|", "&", ";;"):
            words = [w for w in words if w not in ("{", "}", "(", ")")]
            if words:
                yield from _simple(words, privileged)
            words = []
        else:
            words.append(token)


def _simple(words: list[str], privileged: bool):
    if words[:2] == ["sudo", "-n"]:
        words, privileged = words[2:], True
    if words[:2] == ["sh", "-c"]:
        yield from simple_commands(words[2], privileged)
        return
    yield words, privileged


def inner_scripts(cmd: str) -> list[str]:
    """The SCRIPT of each `sh -c SCRIPT` inside cmd (they are only strings to the outer -n)."""
    words = shlex.split(cmd)
    return [words[i + 2] for i in range(len(words) - 2) if words[i : i + 2] == ["sh", "-c"]]


# -- shell syntax (`sh -n`) -----------------------------------------------------------

SYNTAX_HOSTS = [
    ("plain", PLAIN),
    ("sudo", SUDO),
    ("sandbox", SANDBOX),
    ("weird", Host(deploy_root=f"/tmp/{WEIRD}", nginx_conf_dir=f"/tmp/{WEIRD}/n")),
]


def syntax_cases(commands: Callable[[AppLayout], dict[str, str]]) -> list:
    """pytest params (name, cmd) of every command a module builds, for every host."""
    return [
        pytest.param(name, cmd, id=f"{host_id}-{name}")
        for host_id, host in SYNTAX_HOSTS
        for name, cmd in commands(AppLayout(host, "demo")).items()
    ]


def assert_syntax(shell: str, name: str, cmd: str) -> None:
    for script in [cmd, *inner_scripts(cmd)]:
        result = subprocess.run([shell, "-n", "-c", script], capture_output=True, text=True)
        assert result.returncode == 0, f"{shell} -n rejects {name}: {result.stderr}\n{script}"


# -- the fake server the behaviour tests run in ------------------------------------------

FAKE_NGINX = """\
#!/bin/sh
printf '%s\\n' "nginx $*" >> {calls}
case " $* " in
*" -t "*)
    if grep -rqs BROKEN {conf_dir}; then
        echo 'nginx: [emerg] unknown directive "BROKEN"' >&2
        exit 1
    fi
    # nginx only warns when two sites have one server name (and ignores one)
    for name in $(grep -rhos 'CONFLICT [a-z.]*' {conf_dir} | cut -d' ' -f2); do
        echo "nginx: [warn] conflicting server name \\"$name\\" on 0.0.0.0:80, ignored" >&2
    done
    echo 'nginx: configuration file test is successful' >&2
    exit 0;;
*" -s reload "*)
    exit "${{RELOAD_EXIT:-0}}";;
*" -T "*)
    # The full config: here a master that is not running, its workers this user.
    printf 'pid %s;\nuser %s;\n' "${{NGINX_PID_FILE:-/nonexistent/nginx.pid}}" "${{NGINX_USER:-$(id -un)}}"
    exit 0;;
esac
"""

FAKE_SUPERVISORCTL = """\
#!/bin/sh
printf '%s\\n' "supervisorctl $*" >> {calls}
case " $* " in
*" start "*) printf '%s\\n' "${{SUP_START_OUT:-started}}";;
*" update "*) [ -z "${{SUP_UPDATE_OUT:-}}" ] || printf '%s\\n' "$SUP_UPDATE_OUT";;
*" status "*)
    if [ -n "${{SUP_STATUS_SEQ:-}}" ]; then  # one line a call, the last one repeats
        head -n 1 "$SUP_STATUS_SEQ"
        [ "$(wc -l < "$SUP_STATUS_SEQ")" -le 1 ] || sed -i 1d "$SUP_STATUS_SEQ"
    else printf '%s\\n' "${{SUP_STATUS:-}}"; fi;;
*" pid "*) printf '%s\\n' "${{SUP_PID:-4242}}";;
esac
exit 0
"""

FAKE_PYTHON3 = """\
#!/bin/sh
printf '%s\\n' "python3 $*" >> {calls}
[ "$1" = -m ] && [ "$2" = venv ] || exit 2
mkdir -p "$3/bin" && cat > "$3/bin/pip" <<'EOF'
#!/bin/sh
printf '%s\\n' "pip $*" >> {calls}
exit "${{PIP_EXIT:-0}}"
EOF
chmod +x "$3/bin/pip"
"""


def write_script(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o755)
    return path


@dataclass
class World:
    """A fake server in a temporary directory, driven by one shell."""

    tmp: Path
    shell: str
    app: AppLayout
    bin: Path
    calls_file: Path
    cwd: Path

    def run(self, cmd: str, *, path: list[Path] = (), timeout: float = 20, **env: str):
        search = ":".join([*map(str, path), str(self.bin), "/usr/sbin:/usr/bin:/sbin:/bin"])
        result = subprocess.run(
            [self.shell, "-c", cmd],
            cwd=self.cwd,
            env={"PATH": search, "HOME": str(self.tmp), "LC_ALL": "C", **env},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        injected = sorted(str(p) for p in self.tmp.rglob("pwned*"))
        assert not injected, f"a value was run as a command: {injected}\n{cmd}"
        return result

    def calls(self) -> list[str]:
        return self.calls_file.read_text().splitlines() if self.calls_file.exists() else []


def wait_for(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
