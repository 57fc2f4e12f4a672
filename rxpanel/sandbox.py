"""A local target server for tests and first tries: real sshd, nginx and supervisord under DIR.

`up(DIR)` starts the three Debian daemons on 127.0.0.1 with every file (configs, keys, pid
files, logs, sockets, the deploy root) under DIR, so rxpanel can deploy to it over SSH exactly
as to a real server. They daemonize and outlive the caller; `down(DIR)` stops them and anything
started through them. Nothing outside DIR is touched except /run/sshd (sshd's privsep dir).

`up(DIR, netns=True)` (root only) makes the sandbox its own host: the daemons run in a network
namespace `rxp-<hash of DIR>` reached over a veth pair, the host end 10.251.N.1/30 and the
namespace end 10.251.N.2/30 (its address, `Sandbox.host`). sshd listens there on port 22 and
nginx's default server on port 80 unless told otherwise, and whatever a deploy starts listens
inside the namespace, so several such sandboxes can use the same ports. The namespace reaches
the host at 10.251.N.1 and nothing beyond (the host does not forward, and nothing here NATs), so
a fourth process, an HTTP CONNECT proxy on 10.251.N.1:3128 in the host's namespace, is pip's
way out: SSH sessions get PIP_PROXY pointing at it. That mode also touches
/run/netns (the namespace's name), the host's network interfaces (the veth) and a lock file
under /run/lock; `down(DIR)` deletes the namespace and with it the veth.
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import grp
import hashlib
import http.client
import json
import os
import pwd
import re
import shlex
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
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
# with a namespace, also the proxy that is pip's way out (it runs on the host, not inside)
NETNS_PARTS = {**PARTS, "proxy": ("netns/proxy.pid", "netns/proxy.log")}
START_TIMEOUT, STOP_TIMEOUT = 10.0, 10.0
MAX_SOCKET_PATH = 107  # sun_path limit; the supervisor socket is the longest path we need
LOOPBACK = "127.0.0.1"
# --- the network namespace mode ---
IP = "/usr/sbin/ip"
NETNS_DIR = Path("/run/netns")  # where `ip netns` mounts named namespaces
NETNS_NAME = re.compile(r"^rxp-[0-9a-f]{8}$")  # also the name of the veth's host end (<= 15)
NETNS_IF = "eth0"  # the namespace's end of the veth
NETNS_NET = "10.251"  # sandbox N gets 10.251.N.0/30: .1 on the host, .2 in the namespace
NETNS_SUBNETS = range(1, 255)
NETNS_PORTS = (22, 80)  # default ssh and http ports inside a namespace: nothing else uses them
NETNS_LOCK = "/run/lock/rxpanel-sandbox-netns.lock"  # held while a subnet is picked and taken
PROXY_PORT = 3128  # on the host end of the veth
SYSTEM_PYTHON = "/usr/bin/python3"
# The proxy (system python3, stdlib only): CONNECT only, which is all pip needs for https.
# Like the daemons it forks once it listens, the parent writing the child's pid file.
PROXY_SCRIPT = """\
import asyncio, os, signal, socket, sys

host, port, pidfile, logfile = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (OSError, RuntimeError):
        writer.close()  # the other direction, reading from it, sees the end too


async def handle(reader, writer):
    upstream = None
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\\r\\n\\r\\n"), 30)
        method, target = head.split(b"\\r\\n", 1)[0].decode("latin-1").split(" ")[:2]
        if method != "CONNECT":
            writer.write(b"HTTP/1.1 405 Method Not Allowed\\r\\nConnection: close\\r\\n\\r\\n")
            return
        name, _, number = target.rpartition(":")
        try:
            upstream = await asyncio.wait_for(
                asyncio.open_connection(name.strip("[]"), int(number)), 30
            )
        except (OSError, ValueError, asyncio.TimeoutError) as e:
            print(f"CONNECT {target}: {e}", file=sys.stderr, flush=True)
            writer.write(b"HTTP/1.1 502 Bad Gateway\\r\\nConnection: close\\r\\n\\r\\n")
            return
        writer.write(b"HTTP/1.1 200 Connection established\\r\\n\\r\\n")
        await asyncio.gather(pipe(reader, upstream[1]), pipe(upstream[0], writer))
    except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
            asyncio.TimeoutError):
        pass
    finally:
        for w in (writer, upstream and upstream[1]):
            if w:
                w.close()


async def serve(sock):
    server = await asyncio.start_server(handle, sock=sock)
    async with server:
        await server.serve_forever()


sock = socket.socket()
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind((host, port))
sock.listen(128)
child = os.fork()
if child:
    with open(pidfile, "w") as f:
        f.write(f"{child}\\n")
    os._exit(0)
os.setsid()
log = os.open(logfile, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
os.dup2(log, 1)
os.dup2(log, 2)
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
asyncio.run(serve(sock))
"""


class SandboxError(RuntimeError):
    """Why the sandbox could not be started, found or stopped, in one sentence."""


@dataclass
class Sandbox:
    dir: Path
    ssh_port: int
    http_port: int
    user: str
    netns: str | None = None  # the network namespace's name; None: on the host's 127.0.0.1
    subnet: int | None = None  # N of 10.251.N.0/30 with a namespace

    def _p(self, *parts: str) -> str:
        return str(self.dir.joinpath(*parts))

    @property
    def host(self) -> str:
        """The address sshd and nginx's default server listen on."""
        return LOOPBACK if self.netns is None else f"{NETNS_NET}.{self.subnet}.2"

    @property
    def host_side(self) -> str | None:
        """The host's end of the veth (how the namespace reaches the host), or None."""
        return None if self.netns is None else f"{NETNS_NET}.{self.subnet}.1"

    @property
    def proxy_url(self) -> str | None:
        """The namespace's way out for pip (PIP_PROXY in SSH sessions), or None."""
        return None if self.netns is None else f"http://{self.host_side}:{PROXY_PORT}"

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
            self.host,
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
        netns = subnet = None
        if data.get("netns") is True:
            netns, subnet = data["netns_name"], data["subnet"]
            if not (
                isinstance(netns, str)
                and NETNS_NAME.fullmatch(netns)
                and type(subnet) is int
                and subnet in NETNS_SUBNETS
            ):
                raise ValueError("bad network namespace")
        return Sandbox(
            d,
            port(data["ssh_port"], "ssh port"),
            port(data["http_port"], "http port"),
            str(data["user"]),
            netns,
            subnet,
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise SandboxError(f"{d} is not an rxpanel sandbox (no valid sandbox.json)") from None


def _save(sb: Sandbox) -> None:
    data = {"ssh_port": sb.ssh_port, "http_port": sb.http_port, "user": sb.user}
    if sb.netns is not None:
        data |= {
            "netns": True,
            "netns_name": sb.netns,
            "subnet": sb.subnet,
            "address": sb.host,
            "host_address": sb.host_side,
        }
    (sb.dir / "sandbox.json").write_text(json.dumps(data, indent=2) + "\n")


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
        pid = int((sb.dir / _parts(sb)[part][0]).read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) and f"{sb.dir}/" in _cmdline(pid) else None


def _parts(sb: Sandbox) -> dict[str, tuple[str, str]]:
    return PARTS if sb.netns is None else NETNS_PARTS


def _netns_of(path: str | Path) -> tuple[int, int] | None:
    """The identity of the network namespace a /proc/PID/ns/net or /run/netns/NAME file names
    (None if gone, or if NAME is a stale file and no namespace is mounted on it)."""
    try:
        st, ns = os.stat(path), os.stat("/proc/self/ns/net")
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if st.st_dev == ns.st_dev else None


def is_running(sb: Sandbox) -> dict[str, bool]:
    """Which parts run; with a namespace, only while it exists, the daemons inside it and the
    proxy outside (on the host)."""
    ns = None if sb.netns is None else _netns_of(NETNS_DIR / sb.netns)

    def on(part: str) -> bool:
        pid = _pid(sb, part)
        if pid is None or sb.netns is None:
            return pid is not None
        inside = _netns_of(f"/proc/{pid}/ns/net") == ns
        return ns is not None and inside == (part in PARTS)

    return {part: on(part) for part in _parts(sb)}


def _strays(sb: Sandbox) -> dict[int, str]:
    """pid -> start time of every process belonging to the sandbox: command line names DIR,
    environment carries the marker (SSH sessions, supervisor programs, detached timers), it
    runs in the sandbox's network namespace, or a descendant of those (sshd session processes,
    nginx workers). Never us or our parents."""
    ns = None if sb.netns is None else _netns_of(NETNS_DIR / sb.netns)
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
        if (
            f"{sb.dir}/" in _cmdline(pid)
            or marker in env
            or (ns is not None and _netns_of(f"/proc/{pid}/ns/net") == ns)
        ):
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
    if sb.netns is not None:
        (sb.dir / "netns").mkdir(exist_ok=True)
        Path(p("netns", "proxy.py")).write_text(PROXY_SCRIPT)
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
    # A namespace has no route out: pip goes through the proxy on the host.
    pip_proxy = f" PIP_PROXY={sb.proxy_url}" if sb.netns is not None else ""
    Path(p("ssh", "sshd_config")).write_text(f"""\
ListenAddress {sb.host}
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
SetEnv PATH={SYSTEM_PATH} SHLVL=1 {MARKER}={sb.dir}{pip_proxy}
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
        listen {sb.host}:{sb.http_port} default_server;
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
    for log in (sb.dir / f"{part}.start.log", sb.dir / _parts(sb)[part][1]):
        try:
            out += [f"{log.name}: {x}" for x in log.read_text(errors="replace").splitlines() if x]
        except OSError:
            pass
    return "\n".join(out[-lines:]) or "(no log output)"


def _ready(sb: Sandbox, part: str) -> bool:
    try:
        if part == "sshd":
            with socket.create_connection((sb.host, sb.ssh_port), timeout=1) as s:
                return s.recv(64).startswith(b"SSH-2.0-")
        if part == "proxy":
            return _listening(sb.host_side, PROXY_PORT)
        if part == "nginx":
            conn = http.client.HTTPConnection(sb.host, sb.http_port, timeout=1)
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


def up(
    dir: Path | str,
    ssh_port: int | None = None,
    http_port: int | None = None,
    netns: bool | None = None,
) -> Sandbox:
    """Start what is not running. `netns`: True runs the sandbox in its own network namespace,
    False on the host's 127.0.0.1, None as the sandbox in DIR ran before (else False). Ports left
    out keep their earlier values in the same mode, else free ports (22 and 80 in a namespace)."""
    d = _check_dir(dir)
    try:
        ports = [
            None if p is None else port(p, what)
            for p, what in ((ssh_port, "ssh port"), (http_port, "http port"))
        ]
    except ValidationError as e:
        raise SandboxError(str(e)) from None
    if netns and os.geteuid() != 0:
        raise SandboxError("a sandbox in its own network namespace needs root")
    running = dict.fromkeys(PARTS, False)
    old = None
    if (d / "sandbox.json").exists():
        old = load(d)
        running = is_running(old)
        was_netns = old.netns is not None
        netns = was_netns if netns is None else netns
        if netns == was_netns:
            ports = [
                new or was for new, was in zip(ports, (old.ssh_port, old.http_port), strict=True)
            ]
        if any(running.values()) and (
            ports != [old.ssh_port, old.http_port]
            or old.user != _current_user()
            or netns != was_netns
        ):
            where = f"{old.host} in network namespace {old.netns}" if was_netns else old.host
            raise SandboxError(
                f"{d} already runs a sandbox on {where}, ssh port {old.ssh_port} and http "
                f"port {old.http_port}; run `rxpanel sandbox down {d}` first"
            )
    elif d.exists() and (not d.is_dir() or any(d.iterdir())):
        raise SandboxError(f"{d} exists and is not an empty directory or an rxpanel sandbox")
    if netns:
        return _up_netns(d, ports, old, running)
    free = iter(_free_ports(2))
    sb = Sandbox(d, *(p or next(free) for p in ports), _current_user())
    if sb.ssh_port == sb.http_port:
        raise SandboxError("ssh port and http port must differ")
    for part, number in (("sshd", sb.ssh_port), ("nginx", sb.http_port)):
        if not running[part] and not _port_free(number):
            raise SandboxError(f"port {number} on 127.0.0.1 is already in use ({part})")
    if old is not None and old.netns is not None:
        down(d)  # it ran in a namespace (all stopped, see above): remove what is left of that

    d.mkdir(parents=True, exist_ok=True)
    _write_configs(sb)
    _save(sb)
    try:
        _start(sb, [part for part, on in running.items() if not on])
    except SandboxError:
        if not any(running.values()):
            down(d)  # leave no half-started sandbox behind
        raise
    return sb


def _up_netns(
    d: Path, ports: list[int | None], old: Sandbox | None, running: dict[str, bool]
) -> Sandbox:
    ssh, http = (p or default for p, default in zip(ports, NETNS_PORTS, strict=True))
    running = {part: running.get(part, False) for part in NETNS_PARTS}
    if ssh == http:
        raise SandboxError("ssh port and http port must differ")
    fresh = not any(running.values())
    if fresh:
        if old is not None:
            down(d)  # clear what a stopped sandbox left: its namespace, stray processes
        name = _netns_name(d)
        if _netns_exists(name):
            raise SandboxError(
                f"network namespace {name} already exists but is not this sandbox's "
                f"(remove it with `ip netns del {name}` if it is a leftover)"
            )
    d.mkdir(parents=True, exist_ok=True)
    try:
        if fresh:
            with _netns_lock():  # so that two `up`s do not pick the same subnet
                subnet = _free_subnet(old.subnet if old is not None else None)
                sb = Sandbox(d, ssh, http, _current_user(), name, subnet)
                _save(sb)  # first, so that `down` finds and removes a half-made namespace
                _netns_create(sb)
        else:
            sb = Sandbox(d, ssh, http, _current_user(), old.netns, old.subnet)
            _save(sb)
        for part, number in (("sshd", sb.ssh_port), ("nginx", sb.http_port)):
            # a new namespace is empty; in one kept, a deployed program may hold the port
            if not fresh and not running[part] and _listening(sb.host, number):
                raise SandboxError(f"port {number} on {sb.host} is already in use ({part})")
        _write_configs(sb)
        _start(sb, [part for part, on in running.items() if not on])
    except BaseException:
        if fresh and (d / "sandbox.json").exists():
            with contextlib.suppress(SandboxError):
                down(d)  # leave no half-made namespace or half-started sandbox behind
        raise
    return sb


# --- the network namespace ----------------------------------------------------------------


def _netns_name(d: Path) -> str:
    return "rxp-" + hashlib.sha256(str(d).encode()).hexdigest()[:8]


def _ip(*args: str, check: bool = True) -> str:
    """Run iproute2's `ip`; its output, or "" when it fails and check is off."""
    try:
        out = subprocess.run(
            [IP, *args],
            capture_output=True,
            text=True,
            env={"PATH": SYSTEM_PATH, "LANG": "C"},
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise SandboxError(f"cannot run `ip {shlex.join(args)}`: {e}") from None
    if out.returncode != 0:
        if not check:
            return ""
        error = out.stderr.strip() or f"exit {out.returncode}"
        raise SandboxError(f"`ip {shlex.join(args)}` failed: {error}")
    return out.stdout


def _netns_names() -> list[str]:
    return [line.split()[0] for line in _ip("netns", "list").splitlines() if line.strip()]


def _netns_exists(name: str) -> bool:
    return (NETNS_DIR / name).exists() or name in _netns_names()


@contextlib.contextmanager
def _netns_lock():
    os.makedirs(os.path.dirname(NETNS_LOCK), exist_ok=True)
    with open(NETNS_LOCK, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # released when the file closes
        yield


def _free_subnet(prefer: int | None) -> int:
    """N for 10.251.N.0/30 that no host interface and no other rxp-* namespace uses; the
    sandbox's earlier N if it is still free, so its address stays the same."""
    texts = [_ip("-4", "-o", "addr", "show")]
    for name in _netns_names():
        if name.startswith("rxp-"):
            texts.append(_ip("-n", name, "-4", "-o", "addr", "show", check=False))
    pattern = re.compile(r"\binet " + re.escape(NETNS_NET) + r"\.(\d+)\.\d+/")
    used = {int(n) for text in texts for n in pattern.findall(text)}
    if prefer is not None and prefer not in used:
        return prefer
    for n in NETNS_SUBNETS:
        if n not in used:
            return n
    raise SandboxError(f"no free subnet left in {NETNS_NET}.0.0/16 for another sandbox")


def _netns_create(sb: Sandbox) -> None:
    """The namespace with lo up, and a veth pair: the host end (named like the namespace)
    sb.host_side/30, the namespace end (eth0) sb.host/30. No default route: the host does not
    forward, so the outside (DNS too) fails at once (ENETUNREACH) rather than after timeouts."""
    name = sb.netns
    _ip("netns", "add", name)
    _ip("link", "add", name, "type", "veth", "peer", "name", NETNS_IF, "netns", name)
    _ip("addr", "add", f"{sb.host_side}/30", "dev", name)
    _ip("link", "set", name, "up")
    _ip("-n", name, "link", "set", "lo", "up")
    _ip("-n", name, "addr", "add", f"{sb.host}/30", "dev", NETNS_IF)
    _ip("-n", name, "link", "set", NETNS_IF, "up")


def _netns_delete(name: str) -> None:
    """Delete the namespace and the veth; the kernel frees them asynchronously, so wait until
    the host end is gone (a quick `up` again recreates it under the same name)."""
    if _netns_exists(name):
        _ip("netns", "del", name)
    host_end = Path("/sys/class/net") / name
    if host_end.exists():
        _ip("link", "del", name, check=False)  # may already be on its way out
    deadline = time.monotonic() + STOP_TIMEOUT
    while host_end.exists():
        if time.monotonic() > deadline:
            raise SandboxError(f"the network interface {name} would not go away")
        time.sleep(0.05)


def _listening(host: str, number: int) -> bool:
    try:
        socket.create_connection((host, number), timeout=1).close()
    except OSError:
        return False
    return True


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
    if sb.netns is not None:  # `ip netns exec` execs the daemon, whose exit status we get
        argv = {part: [IP, "netns", "exec", sb.netns, *cmd] for part, cmd in argv.items()}
        argv["proxy"] = [  # on the host: the namespace's way out
            SYSTEM_PYTHON,
            sb._p("netns", "proxy.py"),
            sb.host_side,
            str(PROXY_PORT),
            sb._p(*NETNS_PARTS["proxy"][0].split("/")),
            sb._p(*NETNS_PARTS["proxy"][1].split("/")),
        ]
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
    for part in _parts(sb):
        while not _ready(sb, part):
            if time.monotonic() > deadline:
                raise SandboxError(f"{part} did not become ready in time:\n{_tail(sb, part)}")
            time.sleep(0.05)


# --- down ---------------------------------------------------------------------------------


def down(dir: Path | str) -> None:
    """Stop the daemons and everything started through them; then delete the sandbox's network
    namespace, if it has one. Files stay. Safe to repeat, and after a failed `up`."""
    sb = load(dir)  # refuses anything that is not a sandbox, so we never kill by a random path
    before = _strays(sb)
    pids = {part: pid for part in _parts(sb) if (pid := _pid(sb, part))}
    # Signals rather than `supervisorctl shutdown` / `nginx -s quit`: the same effect, but they
    # also work when the socket is gone or a site file left in conf.d breaks nginx's config.
    # supervisord stops its programs on SIGTERM; nginx finishes requests on SIGQUIT.
    first = {"supervisord": signal.SIGTERM, "nginx": signal.SIGQUIT, "sshd": signal.SIGTERM}
    first["proxy"] = signal.SIGTERM
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
            break
    else:
        raise SandboxError(f"some sandbox processes would not stop: {sorted(live)}")
    if sb.netns is not None:
        _netns_delete(sb.netns)
