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

The package: model (the Sandbox record, sandbox.json), configs (the daemons' config files,
rendered by pure functions), processes (finding, starting and stopping them), netns (the
namespace and its veth) and proxy (the CONNECT proxy, a module of its own, run as a script).
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import signal
import subprocess
from pathlib import Path

from rxpanel.sandbox import configs, model, netns, processes, proxy
from rxpanel.sandbox.model import (
    LOOPBACK,
    MARKER,
    MAX_SOCKET_PATH,
    NETNS_NAME,
    NETNS_NET,
    NETNS_PARTS,
    NETNS_PORTS,
    NETNS_SUBNETS,
    NGINX,
    PARTS,
    PROXY_PORT,
    SSH_KEYGEN,
    SSHD,
    START_TIMEOUT,
    STOP_TIMEOUT,
    SUPERVISORCTL,
    SUPERVISORD,
    SYSTEM_PATH,
    SYSTEM_PYTHON,
    Sandbox,
    SandboxError,
    load,
)
from rxpanel.sandbox.netns import IP, NETNS_DIR, NETNS_IF, NETNS_LOCK
from rxpanel.sandbox.processes import is_running
from rxpanel.validate import ValidationError, port

__all__ = [
    "IP",
    "LOOPBACK",
    "MARKER",
    "MAX_SOCKET_PATH",
    "NETNS_DIR",
    "NETNS_IF",
    "NETNS_LOCK",
    "NETNS_NAME",
    "NETNS_NET",
    "NETNS_PARTS",
    "NETNS_PORTS",
    "NETNS_SUBNETS",
    "NGINX",
    "PARTS",
    "PROXY_PORT",
    "SSHD",
    "SSH_KEYGEN",
    "START_TIMEOUT",
    "STOP_TIMEOUT",
    "SUPERVISORCTL",
    "SUPERVISORD",
    "SYSTEM_PATH",
    "SYSTEM_PYTHON",
    "Sandbox",
    "SandboxError",
    "down",
    "is_running",
    "load",
    "up",
]

_netns_name = netns.name_for  # its name from before the package (tests use it)


def up(
    dir: Path | str,
    ssh_port: int | None = None,
    http_port: int | None = None,
    netns: bool | None = None,
) -> Sandbox:
    """Start what is not running. `netns`: True runs the sandbox in its own network namespace,
    False on the host's 127.0.0.1, None as the sandbox in DIR ran before (else False). Ports left
    out keep their earlier values in the same mode, else free ports (22 and 80 in a namespace)."""
    d = model.check_dir(dir)
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
            or old.user != model.current_user()
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
    free = iter(processes.free_ports(2))
    sb = Sandbox(d, *(p or next(free) for p in ports), model.current_user())
    if sb.ssh_port == sb.http_port:
        raise SandboxError("ssh port and http port must differ")
    for part, number in (("sshd", sb.ssh_port), ("nginx", sb.http_port)):
        if not running[part] and not processes.port_free(number):
            raise SandboxError(f"port {number} on 127.0.0.1 is already in use ({part})")
    if old is not None and old.netns is not None:
        down(d)  # it ran in a namespace (all stopped, see above): remove what is left of that

    d.mkdir(parents=True, exist_ok=True)
    _write_configs(sb)
    model.save(sb)
    try:
        processes.start(sb, [part for part, on in running.items() if not on])
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
        name = netns.name_for(d)
        if netns.exists(name):
            raise SandboxError(
                f"network namespace {name} already exists but is not this sandbox's "
                f"(remove it with `ip netns del {name}` if it is a leftover)"
            )
    d.mkdir(parents=True, exist_ok=True)
    try:
        if fresh:
            with netns.lock():  # so that two `up`s do not pick the same subnet
                subnet = netns.free_subnet(old.subnet if old is not None else None)
                sb = Sandbox(d, ssh, http, model.current_user(), name, subnet)
                model.save(sb)  # first, so that `down` finds and removes a half-made namespace
                netns.create(sb)
        else:
            sb = Sandbox(d, ssh, http, model.current_user(), old.netns, old.subnet)
            model.save(sb)
        for part, number in (("sshd", sb.ssh_port), ("nginx", sb.http_port)):
            # a new namespace is empty; in one kept, a deployed program may hold the port
            if not fresh and not running[part] and processes.listening(sb.host, number):
                raise SandboxError(f"port {number} on {sb.host} is already in use ({part})")
        _write_configs(sb)
        processes.start(sb, [part for part, on in running.items() if not on])
    except BaseException:
        if fresh and (d / "sandbox.json").exists():
            with contextlib.suppress(SandboxError):
                down(d)  # leave no half-made namespace or half-started sandbox behind
        raise
    return sb


def _write_configs(sb: Sandbox) -> None:
    """The directories, keys and config files under DIR (the keys once: a new host key would
    break known_hosts pinning); the proxy's copy too, with a namespace."""
    p = sb.path
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
    if os.geteuid() == 0:
        # as root each app runs as a Unix user of its own, who must pass through DIR
        # to its part of the deploy root (x only: nobody lists DIR)
        for passable in (sb.dir, sb.dir / "srv"):
            passable.chmod(passable.stat().st_mode | 0o111)
    if sb.netns is not None:
        (sb.dir / "netns").mkdir(exist_ok=True)
        # a copy under DIR: the proxy runs on the system python3, outside our venv, and its
        # command line names DIR (how `down` finds it)
        Path(p("netns", "proxy.py")).write_text(Path(proxy.__file__).read_text())
    for key in (p("ssh", "host_ed25519"), str(sb.key_path)):
        if not os.path.exists(key):  # once: a new host key would break known_hosts pinning
            subprocess.run(
                [SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", "rxpanel-sandbox", "-f", key],
                check=True,
                capture_output=True,
                env=processes.clean_env(sb),
            )
        os.chmod(key, 0o600)
    Path(p("ssh", "authorized_keys")).write_text(Path(f"{sb.key_path}.pub").read_text())
    # SHLVL=1 makes bash count the session shell as nested, so it skips ~/.bashrc (Debian's bash
    # sources it for ssh commands), which could put e.g. pyenv's python3 ahead of /usr/bin.
    # A namespace has no route out: pip goes through the proxy on the host.
    session_env = {"PATH": SYSTEM_PATH, "SHLVL": "1", MARKER: str(sb.dir)}
    if sb.netns is not None:
        session_env["PIP_PROXY"] = sb.proxy_url
    Path(p("ssh", "sshd_config")).write_text(
        configs.sshd_config(
            listen=sb.host,
            port=sb.ssh_port,
            ssh_dir=p("ssh"),
            user=sb.user,
            session_env=session_env,
        )
    )
    worker = None
    if os.geteuid() == 0:  # root's default worker user (nobody) could not read files under DIR
        pw = pwd.getpwnam(sb.user)
        worker = (sb.user, grp.getgrgid(pw.pw_gid).gr_name)
    Path(p("nginx", "nginx.conf")).write_text(
        configs.nginx_conf(nginx_dir=p("nginx"), listen=sb.host, port=sb.http_port, worker=worker)
    )
    Path(p("supervisor", "supervisord.conf")).write_text(
        configs.supervisord_conf(supervisor_dir=p("supervisor"))
    )


def down(dir: Path | str) -> None:
    """Stop the daemons and everything started through them; then delete the sandbox's network
    namespace, if it has one. Files stay. Safe to repeat, and after a failed `up`."""
    sb = load(dir)  # refuses anything that is not a sandbox, so we never kill by a random path
    before = processes.strays(sb)
    pids = {part: pid for part in sb.parts() if (pid := processes.pid_of(sb, part))}
    # Signals rather than `supervisorctl shutdown` / `nginx -s quit`: the same effect, but they
    # also work when the socket is gone or a site file left in conf.d breaks nginx's config.
    # supervisord stops its programs on SIGTERM; nginx finishes requests on SIGQUIT.
    first = {"supervisord": signal.SIGTERM, "nginx": signal.SIGQUIT, "sshd": signal.SIGTERM}
    first["proxy"] = signal.SIGTERM
    for part, pid in pids.items():
        processes.send([pid], first[part])
    if not processes.wait_gone(pids.values(), STOP_TIMEOUT):
        processes.send(pids.values(), signal.SIGTERM)  # nginx: drop open websockets (fast shutdown)
        if not processes.wait_gone(pids.values(), 3):
            processes.send(pids.values(), signal.SIGKILL)
            processes.wait_gone(pids.values(), 3)
    # Leftovers: SSH sessions, detached timers, orphaned programs. Start times guard pid reuse.
    strays = {**before, **processes.strays(sb)}
    for sig in (signal.SIGTERM, signal.SIGKILL):
        live = [
            p
            for p, start in strays.items()
            if processes.alive(p) and processes.proc_stat(p)[2] == start
        ]
        processes.send(live, sig)
        if processes.wait_gone(live, 3):
            break
    else:
        raise SandboxError(f"some sandbox processes would not stop: {sorted(live)}")
    if sb.netns is not None:
        netns.delete(sb.netns)
