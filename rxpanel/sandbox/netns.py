"""The network namespace mode: a namespace per sandbox, reached from the host over a veth
pair (host end 10.251.N.1/30, namespace end 10.251.N.2/30), made and removed with iproute2."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shlex
import subprocess
import time
from pathlib import Path

from rxpanel.sandbox.model import (
    NETNS_NET,
    NETNS_SUBNETS,
    STOP_TIMEOUT,
    SYSTEM_PATH,
    Sandbox,
    SandboxError,
)

IP = "/usr/sbin/ip"
NETNS_DIR = Path("/run/netns")  # where `ip netns` mounts named namespaces
NETNS_IF = "eth0"  # the namespace's end of the veth
NETNS_LOCK = "/run/lock/rxpanel-sandbox-netns.lock"  # held while a subnet is picked and taken


def name_for(d: Path) -> str:
    return "rxp-" + hashlib.sha256(str(d).encode()).hexdigest()[:8]


def ip(*args: str, check: bool = True) -> str:
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


def names() -> list[str]:
    return [line.split()[0] for line in ip("netns", "list").splitlines() if line.strip()]


def exists(name: str) -> bool:
    return (NETNS_DIR / name).exists() or name in names()


@contextlib.contextmanager
def lock():
    os.makedirs(os.path.dirname(NETNS_LOCK), exist_ok=True)
    with open(NETNS_LOCK, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # released when the file closes
        yield


def free_subnet(prefer: int | None) -> int:
    """N for 10.251.N.0/30 that no host interface and no other rxp-* namespace uses; the
    sandbox's earlier N if it is still free, so its address stays the same."""
    texts = [ip("-4", "-o", "addr", "show")]
    for name in names():
        if name.startswith("rxp-"):
            texts.append(ip("-n", name, "-4", "-o", "addr", "show", check=False))
    pattern = re.compile(r"\binet " + re.escape(NETNS_NET) + r"\.(\d+)\.\d+/")
    used = {int(n) for text in texts for n in pattern.findall(text)}
    if prefer is not None and prefer not in used:
        return prefer
    for n in NETNS_SUBNETS:
        if n not in used:
            return n
    raise SandboxError(f"no free subnet left in {NETNS_NET}.0.0/16 for another sandbox")


def create(sb: Sandbox) -> None:
    """The namespace with lo up, and a veth pair: the host end (named like the namespace)
    sb.host_side/30, the namespace end (eth0) sb.host/30. No default route: the host does not
    forward, so the outside (DNS too) fails at once (ENETUNREACH) rather than after timeouts."""
    name = sb.netns
    ip("netns", "add", name)
    ip("link", "add", name, "type", "veth", "peer", "name", NETNS_IF, "netns", name)
    ip("addr", "add", f"{sb.host_side}/30", "dev", name)
    ip("link", "set", name, "up")
    ip("-n", name, "link", "set", "lo", "up")
    ip("-n", name, "addr", "add", f"{sb.host}/30", "dev", NETNS_IF)
    ip("-n", name, "link", "set", NETNS_IF, "up")


def delete(name: str) -> None:
    """Delete the namespace and the veth; the kernel frees them asynchronously, so wait until
    the host end is gone (a quick `up` again recreates it under the same name)."""
    if exists(name):
        ip("netns", "del", name)
    host_end = Path("/sys/class/net") / name
    if host_end.exists():
        ip("link", "del", name, check=False)  # may already be on its way out
    deadline = time.monotonic() + STOP_TIMEOUT
    while host_end.exists():
        if time.monotonic() > deadline:
            raise SandboxError(f"the network interface {name} would not go away")
        time.sleep(0.05)


def namespace_of(path: str | Path) -> tuple[int, int] | None:
    """The identity of the network namespace a /proc/PID/ns/net or /run/netns/NAME file names
    (None if gone, or if NAME is a stale file and no namespace is mounted on it)."""
    try:
        st, ns = os.stat(path), os.stat("/proc/self/ns/net")
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if st.st_dev == ns.st_dev else None
