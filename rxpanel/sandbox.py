"""A local target server for tests and first tries: real sshd, nginx and supervisord under DIR.

`up(DIR)` starts the three Debian daemons on 127.0.0.1 with every file (configs, keys, pid
files, logs, sockets, the deploy root) under DIR, so rxpanel can deploy to it over SSH exactly
as to a real server. They daemonize and outlive the caller; `down(DIR)` stops them and anything
started through them. Nothing outside DIR is touched except /run/sshd (sshd's privsep dir).
"""

from __future__ import annotations

import getpass
import grp
import http.client
import json
import os
import pwd
import shlex
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from rxpanel.validate import ValidationError, abs_path, port

SSHD, NGINX = "/usr/sbin/sshd", "/usr/sbin/nginx"
SUPERVISORD, SUPERVISORCTL = "/usr/bin/supervisord", "/usr/bin/supervisorctl"
SSH_KEYGEN = "/usr/bin/ssh-keygen"
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Every SSH session and supervisor program inherits this, so `down` can find what they left.
MARKER = "RXPANEL_SANDBOX"
# part -> (pid file, its own log) under DIR; `up` also keeps DIR/<part>.start.log
PARTS = {
    "sshd": ("ssh/sshd.pid", "ssh/sshd.log"),
    "nginx": ("nginx/nginx.pid", "nginx/logs/error.log"),
    "supervisord": ("supervisor/supervisord.pid", "supervisor/supervisord.log"),
}
START_TIMEOUT, STOP_TIMEOUT = 10.0, 10.0
MAX_SOCKET_PATH = 107  # sun_path limit; the supervisor socket is the longest path we need


class SandboxError(RuntimeError):
    """Why the sandbox could not be started, found or stopped, in one sentence."""


@dataclass
class Sandbox:
    dir: Path
    ssh_port: int
    http_port: int
    user: str

    def _p(self, *parts: str) -> str:
        return str(self.dir.joinpath(*parts))

    @property
    def key_path(self) -> Path:
        return self.dir / "ssh" / "id_ed25519"

    @property
    def deploy_root(self) -> str:
        return self._p("srv")

    @property
    def nginx_conf_dir(self) -> str:
        return self._p("nginx", "conf.d")

    @property
    def nginx_cmd(self) -> str:
        return f"{NGINX} -c {self._p('nginx', 'nginx.conf')} -p {self._p('nginx')}/"

    @property
    def supervisor_conf_dir(self) -> str:
        return self._p("supervisor", "conf.d")

    @property
    def supervisorctl_cmd(self) -> str:
        return f"{SUPERVISORCTL} -c {self._p('supervisor', 'supervisord.conf')}"

    def server_add_args(self, name: str = "sandbox") -> list[str]:
        return [
            "server",
            "add",
            name,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.ssh_port),
            "--user",
            self.user,
            "--key",
            str(self.key_path),
            "--no-sudo",
            "--deploy-root",
            self.deploy_root,
            "--nginx-conf-dir",
            self.nginx_conf_dir,
            "--nginx-cmd",
            self.nginx_cmd,
            "--supervisor-conf-dir",
            self.supervisor_conf_dir,
            "--supervisorctl-cmd",
            self.supervisorctl_cmd,
        ]

    def server_add_line(self, name: str = "sandbox") -> str:
        return "rxpanel " + shlex.join(self.server_add_args(name))


def _current_user() -> str:
    """The account we run as (what sshd's AllowUsers and nginx's `user` need), not $USER."""
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:  # a uid without a passwd entry (some containers)
        return getpass.getuser()


def _check_dir(value: Path | str) -> Path:
    try:
        text = abs_path(str(value), "sandbox dir")
    except ValidationError as e:
        raise SandboxError(str(e)) from None
    if text == "/":
        raise SandboxError("sandbox dir must not be '/'")
    if len(text) + len("/supervisor/supervisor.sock") > MAX_SOCKET_PATH:
        raise SandboxError(f"sandbox dir {text!r} is too long for a unix socket path under it")
    return Path(text)


def load(dir: Path | str) -> Sandbox:
    d = _check_dir(dir)
    try:
        data = json.loads((d / "sandbox.json").read_text())
        return Sandbox(
            d,
            port(data["ssh_port"], "ssh port"),
            port(data["http_port"], "http port"),
            str(data["user"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        raise SandboxError(f"{d} is not an rxpanel sandbox (no valid sandbox.json)") from None


# --- processes ----------------------------------------------------------------------------


def _stat(pid: int) -> tuple[str, int, str] | None:
    """(state, ppid, start time) from /proc, or None if the process is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    rest = text[text.rfind(")") + 2 :].split()
    return rest[0], int(rest[1]), rest[19]


def _alive(pid: int) -> bool:
    st = _stat(pid)
    return st is not None and st[0] not in "ZX"  # zombies may never be reaped by pid 1 here


def _cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode("utf-8", "replace")


def _pid(sb: Sandbox, part: str) -> int | None:
    """The part's pid if it runs; the command line check guards against stale, reused pids."""
    try:
        pid = int((sb.dir / PARTS[part][0]).read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) and f"{sb.dir}/" in _cmdline(pid) else None


def is_running(sb: Sandbox) -> dict[str, bool]:
    return {part: _pid(sb, part) is not None for part in PARTS}


def _strays(sb: Sandbox) -> dict[int, str]:
    """pid -> start time of every process belonging to the sandbox: command line names DIR,
    environment carries the marker (SSH sessions, supervisor programs, detached timers), or a
    descendant of those (sshd session processes, nginx workers). Never us or our parents."""
    mine, pid = set(), os.getpid()
    while pid > 1 and pid not in mine and (st := _stat(pid)):
        mine.add(pid)
        pid = st[1]
    marker = f"\0{MARKER}={sb.dir}\0".encode()
    procs, hits = {}, set()
    for name in os.listdir("/proc"):
        if not name.isdigit() or not (st := _stat(int(name))) or st[0] in "ZX":
            continue
        pid = int(name)
        procs[pid] = st
        try:
            if os.geteuid() not in (0, os.stat(f"/proc/{pid}").st_uid):
                continue  # not ours to stop
            env = b"\0" + Path(f"/proc/{pid}/environ").read_bytes() + b"\0"
        except OSError:  # gone, or unreadable
            env = b""
        if f"{sb.dir}/" in _cmdline(pid) or marker in env:
            hits.add(pid)
    grown = True
    while grown:
        more = {p for p, st in procs.items() if st[1] in hits} - hits
        hits |= more
        grown = bool(more)
    return {p: procs[p][2] for p in hits - mine}


def _signal(pids, sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def _wait_gone(pids, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while any(_alive(p) for p in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


# --- up -----------------------------------------------------------------------------------


def _free_ports(count: int) -> list[int]:
    socks = [socket.socket() for _ in range(count)]  # held together so the ports differ
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _port_free(number: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", number))
        except OSError:
            return False
    return True


def _env(sb: Sandbox) -> dict[str, str]:
    """A clean environment: nothing of our venv (VIRTUAL_ENV, PYTHONPATH...) reaches the daemons,
    which run on the system python3."""
    home = os.path.expanduser("~")
    return {
        "PATH": SYSTEM_PATH,
        "HOME": home,
        "LANG": "C.UTF-8",
        "USER": sb.user,
        "LOGNAME": sb.user,
        MARKER: str(sb.dir),
    }


def _write_configs(sb: Sandbox) -> None:
    p = sb._p
    for sub in (
        "ssh",
        "srv",
        "nginx/conf.d",
        "nginx/logs",
        "nginx/tmp",
        "supervisor/conf.d",
        "supervisor/logs",
    ):
        (sb.dir / sub).mkdir(parents=True, exist_ok=True)
    for key in (p("ssh", "host_ed25519"), str(sb.key_path)):
        if not os.path.exists(key):  # once: a new host key would break known_hosts pinning
            subprocess.run(
                [SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", "rxpanel-sandbox", "-f", key],
                check=True,
                capture_output=True,
                env=_env(sb),
            )
        os.chmod(key, 0o600)
    Path(p("ssh", "authorized_keys")).write_text(Path(f"{sb.key_path}.pub").read_text())
    # SHLVL=1 makes bash count the session shell as nested, so it skips ~/.bashrc (Debian's bash
    # sources it for ssh commands), which could put e.g. pyenv's python3 ahead of /usr/bin.
    Path(p("ssh", "sshd_config")).write_text(f"""\
ListenAddress 127.0.0.1
Port {sb.ssh_port}
HostKey {p("ssh", "host_ed25519")}
PidFile {p("ssh", "sshd.pid")}
AuthorizedKeysFile {p("ssh", "authorized_keys")}
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
AllowUsers {sb.user}
Subsystem sftp internal-sftp
SetEnv PATH={SYSTEM_PATH} SHLVL=1 {MARKER}={sb.dir}
PrintMotd no
MaxSessions 50
MaxStartups 50:30:100
ClientAliveInterval 30
""")
    user = ""
    if os.geteuid() == 0:  # root's default worker user (nobody) could not read files under DIR
        pw = pwd.getpwnam(sb.user)
        user = f"user {sb.user} {grp.getgrgid(pw.pw_gid).gr_name};\n"
    temps = "".join(
        f"    {t}_temp_path {p('nginx', 'tmp', t)};\n"
        for t in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    Path(p("nginx", "nginx.conf")).write_text(f"""\
{user}daemon on;
pid {p("nginx", "nginx.pid")};
error_log {p("nginx", "logs", "error.log")};
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    server_names_hash_bucket_size 128;
    access_log {p("nginx", "logs", "access.log")};
{temps}    include {p("nginx", "conf.d")}/*.conf;
    server {{
        listen 127.0.0.1:{sb.http_port} default_server;
        server_name _;
        location / {{ return 200 "rxpanel sandbox\\n"; }}
    }}
}}
""")
    Path(p("supervisor", "supervisord.conf")).write_text(f"""\
[unix_http_server]
file={p("supervisor", "supervisor.sock")}

[supervisord]
logfile={p("supervisor", "supervisord.log")}
pidfile={p("supervisor", "supervisord.pid")}
childlogdir={p("supervisor", "logs")}
nodaemon=false

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{p("supervisor", "supervisor.sock")}

[include]
files = {p("supervisor", "conf.d")}/*.conf
""")


def _tail(sb: Sandbox, part: str, lines: int = 8) -> str:
    out = []
    for log in (sb.dir / f"{part}.start.log", sb.dir / PARTS[part][1]):
        try:
            out += [f"{log.name}: {x}" for x in log.read_text(errors="replace").splitlines() if x]
        except OSError:
            pass
    return "\n".join(out[-lines:]) or "(no log output)"


def _ready(sb: Sandbox, part: str) -> bool:
    try:
        if part == "sshd":
            with socket.create_connection(("127.0.0.1", sb.ssh_port), timeout=1) as s:
                return s.recv(64).startswith(b"SSH-2.0-")
        if part == "nginx":
            conn = http.client.HTTPConnection("127.0.0.1", sb.http_port, timeout=1)
            try:
                conn.request("GET", "/")
                resp = conn.getresponse()
                return resp.status == 200 and resp.read().startswith(b"rxpanel sandbox")
            finally:
                conn.close()
        out = subprocess.run(
            [*shlex.split(sb.supervisorctl_cmd), "pid"],
            env=_env(sb),
            capture_output=True,
            text=True,
            timeout=5,
        )
        return out.returncode == 0 and out.stdout.strip().isdigit()
    except (OSError, http.client.HTTPException, subprocess.TimeoutExpired):
        return False


def up(dir: Path | str, ssh_port: int | None = None, http_port: int | None = None) -> Sandbox:
    d = _check_dir(dir)
    try:
        ports = [
            None if p is None else port(p, what)
            for p, what in ((ssh_port, "ssh port"), (http_port, "http port"))
        ]
    except ValidationError as e:
        raise SandboxError(str(e)) from None
    running = dict.fromkeys(PARTS, False)
    if (d / "sandbox.json").exists():
        old = load(d)
        running = is_running(old)
        ports = [new or was for new, was in zip(ports, (old.ssh_port, old.http_port), strict=True)]
        if any(running.values()) and (
            ports != [old.ssh_port, old.http_port] or old.user != _current_user()
        ):
            raise SandboxError(
                f"{d} already runs a sandbox on ssh port {old.ssh_port} and http "
                f"port {old.http_port}; run `rxpanel sandbox down {d}` first"
            )
    elif d.exists() and (not d.is_dir() or any(d.iterdir())):
        raise SandboxError(f"{d} exists and is not an empty directory or an rxpanel sandbox")
    free = iter(_free_ports(2))
    sb = Sandbox(d, *(p or next(free) for p in ports), _current_user())
    if sb.ssh_port == sb.http_port:
        raise SandboxError("ssh port and http port must differ")
    for part, number in (("sshd", sb.ssh_port), ("nginx", sb.http_port)):
        if not running[part] and not _port_free(number):
            raise SandboxError(f"port {number} on 127.0.0.1 is already in use ({part})")

    d.mkdir(parents=True, exist_ok=True)
    _write_configs(sb)
    data = {k: v for k, v in asdict(sb).items() if k != "dir"}
    (d / "sandbox.json").write_text(json.dumps(data, indent=2) + "\n")
    try:
        _start(sb, [part for part, on in running.items() if not on])
    except SandboxError:
        if not any(running.values()):
            down(d)  # leave no half-started sandbox behind
        raise
    return sb


def _start(sb: Sandbox, parts: list[str]) -> None:
    try:  # sshd refuses to start as root without its privilege-separation dir
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    except OSError:
        if os.geteuid() == 0:
            raise SandboxError("cannot create /run/sshd, which sshd needs as root") from None
    argv = {
        "sshd": [SSHD, "-f", sb._p("ssh", "sshd_config"), "-E", sb._p("ssh", "sshd.log")],
        "nginx": shlex.split(sb.nginx_cmd),
        "supervisord": [SUPERVISORD, "-c", sb._p("supervisor", "supervisord.conf")],
    }
    # Each daemon forks and its parent exits once it listens; start them side by side.
    procs = {}
    for part in parts:
        with open(sb.dir / f"{part}.start.log", "w") as log:
            procs[part] = subprocess.Popen(
                argv[part],
                env=_env(sb),
                cwd=sb.dir,
                stdout=log,
                stdin=subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
    codes = {}
    for part, proc in procs.items():
        try:
            codes[part] = proc.wait(START_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            codes[part] = proc.wait()
    for part, code in codes.items():
        if code != 0:
            raise SandboxError(f"{part} failed to start (exit {code}):\n{_tail(sb, part)}")
    deadline = time.monotonic() + START_TIMEOUT
    for part in PARTS:
        while not _ready(sb, part):
            if time.monotonic() > deadline:
                raise SandboxError(f"{part} did not become ready in time:\n{_tail(sb, part)}")
            time.sleep(0.05)


# --- down ---------------------------------------------------------------------------------


def down(dir: Path | str) -> None:
    sb = load(dir)  # refuses anything that is not a sandbox, so we never kill by a random path
    before = _strays(sb)
    pids = {part: pid for part in PARTS if (pid := _pid(sb, part))}
    # Signals rather than `supervisorctl shutdown` / `nginx -s quit`: the same effect, but they
    # also work when the socket is gone or a site file left in conf.d breaks nginx's config.
    # supervisord stops its programs on SIGTERM; nginx finishes requests on SIGQUIT.
    first = {"supervisord": signal.SIGTERM, "nginx": signal.SIGQUIT, "sshd": signal.SIGTERM}
    for part, pid in pids.items():
        _signal([pid], first[part])
    if not _wait_gone(pids.values(), STOP_TIMEOUT):
        _signal(pids.values(), signal.SIGTERM)  # nginx: drop open websockets (fast shutdown)
        if not _wait_gone(pids.values(), 3):
            _signal(pids.values(), signal.SIGKILL)
            _wait_gone(pids.values(), 3)
    # Leftovers: SSH sessions, detached timers, orphaned programs. Start times guard pid reuse.
    strays = {**before, **_strays(sb)}
    for sig in (signal.SIGTERM, signal.SIGKILL):
        live = [p for p, start in strays.items() if _alive(p) and _stat(p)[2] == start]
        _signal(live, sig)
        if _wait_gone(live, 3):
            return
    raise SandboxError(f"some sandbox processes would not stop: {sorted(live)}")
