"""The sandbox's processes: finding them in /proc (by pid file, command line, environment
marker or network namespace), starting the daemons and waiting until they answer, signalling
them and whatever they left."""

from __future__ import annotations

import http.client
import os
import shlex
import socket
import subprocess
import time
from pathlib import Path

from rxpanel.sandbox import netns
from rxpanel.sandbox.model import (
    MARKER,
    NETNS_PARTS,
    PARTS,
    PROXY_PORT,
    SSHD,
    START_TIMEOUT,
    SUPERVISORD,
    SYSTEM_PATH,
    SYSTEM_PYTHON,
    Sandbox,
    SandboxError,
)


def proc_stat(pid: int) -> tuple[str, int, str] | None:
    """(state, ppid, start time) from /proc, or None if the process is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    rest = text[text.rfind(")") + 2 :].split()
    return rest[0], int(rest[1]), rest[19]


def alive(pid: int) -> bool:
    st = proc_stat(pid)
    return st is not None and st[0] not in "ZX"  # zombies may never be reaped by pid 1 here


def cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode("utf-8", "replace")


def pid_of(sb: Sandbox, part: str) -> int | None:
    """The part's pid if it runs; the command line check guards against stale, reused pids."""
    try:
        pid = int((sb.dir / sb.parts()[part][0]).read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if alive(pid) and f"{sb.dir}/" in cmdline(pid) else None


def is_running(sb: Sandbox) -> dict[str, bool]:
    """Which parts run; with a namespace, only while it exists, the daemons inside it and the
    proxy outside (on the host)."""
    ns = None if sb.netns is None else netns.namespace_of(netns.NETNS_DIR / sb.netns)

    def on(part: str) -> bool:
        pid = pid_of(sb, part)
        if pid is None or sb.netns is None:
            return pid is not None
        inside = netns.namespace_of(f"/proc/{pid}/ns/net") == ns
        return ns is not None and inside == (part in PARTS)

    return {part: on(part) for part in sb.parts()}


def strays(sb: Sandbox) -> dict[int, str]:
    """pid -> start time of every process belonging to the sandbox: command line names DIR,
    environment carries the marker (SSH sessions, supervisor programs, detached timers), it
    runs in the sandbox's network namespace, or a descendant of those (sshd session processes,
    nginx workers). Never us or our parents."""
    ns = None if sb.netns is None else netns.namespace_of(netns.NETNS_DIR / sb.netns)
    mine, pid = set(), os.getpid()
    while pid > 1 and pid not in mine and (st := proc_stat(pid)):
        mine.add(pid)
        pid = st[1]
    marker = f"\0{MARKER}={sb.dir}\0".encode()
    procs, hits = {}, set()
    for name in os.listdir("/proc"):
        if not name.isdigit() or not (st := proc_stat(int(name))) or st[0] in "ZX":
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
            f"{sb.dir}/" in cmdline(pid)
            or marker in env
            or (ns is not None and netns.namespace_of(f"/proc/{pid}/ns/net") == ns)
        ):
            hits.add(pid)
    grown = True
    while grown:
        more = {p for p, st in procs.items() if st[1] in hits} - hits
        hits |= more
        grown = bool(more)
    return {p: procs[p][2] for p in hits - mine}


def send(pids, sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def wait_gone(pids, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while any(alive(p) for p in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def free_ports(count: int) -> list[int]:
    socks = [socket.socket() for _ in range(count)]  # held together so the ports differ
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def port_free(number: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", number))
        except OSError:
            return False
    return True


def clean_env(sb: Sandbox) -> dict[str, str]:
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


def tail(sb: Sandbox, part: str, lines: int = 8) -> str:
    out = []
    for log in (sb.dir / f"{part}.start.log", sb.dir / sb.parts()[part][1]):
        try:
            out += [f"{log.name}: {x}" for x in log.read_text(errors="replace").splitlines() if x]
        except OSError:
            pass
    return "\n".join(out[-lines:]) or "(no log output)"


def ready(sb: Sandbox, part: str) -> bool:
    try:
        if part == "sshd":
            with socket.create_connection((sb.host, sb.ssh_port), timeout=1) as s:
                return s.recv(64).startswith(b"SSH-2.0-")
        if part == "proxy":
            return listening(sb.host_side, PROXY_PORT)
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
            env=clean_env(sb),
            capture_output=True,
            text=True,
            timeout=5,
        )
        return out.returncode == 0 and out.stdout.strip().isdigit()
    except (OSError, http.client.HTTPException, subprocess.TimeoutExpired):
        return False


def listening(host: str, number: int) -> bool:
    try:
        socket.create_connection((host, number), timeout=1).close()
    except OSError:
        return False
    return True


def start(sb: Sandbox, parts: list[str]) -> None:
    try:  # sshd refuses to start as root without its privilege-separation dir
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    except OSError:
        if os.geteuid() == 0:
            raise SandboxError("cannot create /run/sshd, which sshd needs as root") from None
    argv = {
        "sshd": [SSHD, "-f", sb.path("ssh", "sshd_config"), "-E", sb.path("ssh", "sshd.log")],
        "nginx": shlex.split(sb.nginx_cmd),
        "supervisord": [SUPERVISORD, "-c", sb.path("supervisor", "supervisord.conf")],
    }
    if sb.netns is not None:  # `ip netns exec` execs the daemon, whose exit status we get
        argv = {part: [netns.IP, "netns", "exec", sb.netns, *cmd] for part, cmd in argv.items()}
        argv["proxy"] = [  # on the host: the namespace's way out
            SYSTEM_PYTHON,
            sb.path("netns", "proxy.py"),
            sb.host_side,
            str(PROXY_PORT),
            sb.path(*NETNS_PARTS["proxy"][0].split("/")),
            sb.path(*NETNS_PARTS["proxy"][1].split("/")),
        ]
    # Each daemon forks and its parent exits once it listens; start them side by side.
    procs = {}
    for part in parts:
        with open(sb.dir / f"{part}.start.log", "w") as log:
            procs[part] = subprocess.Popen(
                argv[part],
                env=clean_env(sb),
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
            raise SandboxError(f"{part} failed to start (exit {code}):\n{tail(sb, part)}")
    deadline = time.monotonic() + START_TIMEOUT
    for part in sb.parts():
        while not ready(sb, part):
            if time.monotonic() > deadline:
                raise SandboxError(f"{part} did not become ready in time:\n{tail(sb, part)}")
            time.sleep(0.05)
