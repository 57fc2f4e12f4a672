"""A control group per build step, where the host lets the panel make one: the
build's memory is capped by the kernel (a process over it is OOM-killed, and the
kill is counted, so the error can say so), its CPU time is counted over the whole
process tree, and every process left in it can be killed at the end.

cgroup v2 (one hierarchy; memory.max, memory.events, cpu.stat) or cgroup v1
(memory.limit_in_bytes, memory.oom_control, cpuacct.usage). The parent is the
panel's own cgroup when it may write there, or RXPANEL_BUILD_CGROUP (a cgroup
directory the panel may write; on cgroup v2 with memory in its
cgroup.subtree_control); `RXPANEL_BUILD_CGROUP=off` turns this off."""

from __future__ import annotations

import itertools
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

MOUNTINFO = Path("/proc/self/mountinfo")
OWN = Path("/proc/self/cgroup")
PREFIX = "rxpanel-build-"
_names = itertools.count(1)


@dataclass(frozen=True)
class Place:
    """Where build cgroups are made: one parent (v2) or a memory and a cpuacct parent (v1)."""

    kind: str  # v1 | v2
    memory: Path
    cpu: Path | None = None  # v1's cpuacct hierarchy (v2: the same directory as memory)


@dataclass(frozen=True)
class Group:
    """One build step's cgroup (v1: one directory per hierarchy)."""

    kind: str
    memory: Path
    cpu: Path | None = None

    @property
    def dirs(self) -> tuple[Path, ...]:
        return tuple(dict.fromkeys(d for d in (self.memory, self.cpu) if d is not None))

    @property
    def procs(self) -> tuple[str, ...]:
        """The files a process writes its pid to, to join."""
        return tuple(str(d / "cgroup.procs") for d in self.dirs)

    def oom_kills(self) -> int:
        name = "memory.events" if self.kind == "v2" else "memory.oom_control"
        return int(keyed(_read(self.memory / name), "oom_kill") or 0)

    def cpu_seconds(self) -> float | None:
        """CPU time used by every process that was in the group."""
        if self.kind == "v2":
            usec = keyed(_read(self.memory / "cpu.stat"), "usage_usec")
            return None if usec is None else int(usec) / 1e6
        if self.cpu is None:
            return None
        text = _read(self.cpu / "cpuacct.usage").strip()
        return int(text) / 1e9 if text.isdigit() else None

    def peak_mb(self) -> int | None:
        name = "memory.peak" if self.kind == "v2" else "memory.max_usage_in_bytes"
        text = _read(self.memory / name).strip()
        return int(text) >> 20 if text.isdigit() else None

    def kill(self) -> None:
        """Every process still in the group (one that left the session too)."""
        if self.kind == "v2" and (self.memory / "cgroup.kill").exists():
            try:
                (self.memory / "cgroup.kill").write_text("1")
                return
            except OSError:
                pass
        for proc in self.procs:
            for pid in _read(Path(proc)).split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, PermissionError, ValueError):
                    pass

    def remove(self) -> None:
        for d in self.dirs:
            for _ in range(50):  # killed processes take a moment to leave
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)


def keyed(text: str, key: str) -> str | None:
    """The value of `key value` lines (memory.events, memory.oom_control, cpu.stat)."""
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name == key:
            return value.strip()
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def mounts(mountinfo: str) -> list[tuple[str, str, Path, set[str]]]:
    """(fstype, root, mount point, v1 controllers) of each cgroup mount."""
    out = []
    for line in mountinfo.splitlines():
        left, _, right = line.partition(" - ")
        fields, rest = left.split(), right.split()
        if len(fields) < 5 or len(rest) < 3 or rest[0] not in ("cgroup", "cgroup2"):
            continue
        out.append((rest[0], fields[3], Path(fields[4]), set(rest[2].split(","))))
    return out


def own_paths(text: str) -> dict[str, str]:
    """/proc/self/cgroup as {controller: path}; cgroup v2's line under ""."""
    out = {}
    for line in text.splitlines():
        _, controllers, path = line.split(":", 2)
        for name in controllers.split(",") if controllers else [""]:
            out[name] = path
    return out


def _inside(mount: Path, root: str, path: str) -> Path:
    rel = os.path.relpath(path, root) if path.startswith(root) else path.lstrip("/")
    return (mount / rel).resolve() if rel != "." else mount


def _writable(d: Path) -> bool:
    return d.is_dir() and os.access(d, os.W_OK) and os.access(d / "cgroup.procs", os.W_OK)


def locate(mountinfo: str | None = None, own: str | None = None) -> tuple[Place | None, str]:
    """Where this panel makes build cgroups, or None and why not."""
    chosen = os.environ.get("RXPANEL_BUILD_CGROUP", "")
    if chosen.lower() in ("off", "0", "no"):
        return None, "RXPANEL_BUILD_CGROUP=off"
    if chosen:
        d = Path(chosen)
        if (d / "cgroup.controllers").exists():
            if "memory" not in _read(d / "cgroup.subtree_control").split():
                return None, f"{d} does not have memory in its cgroup.subtree_control"
            return (Place("v2", d, d), "") if _writable(d) else (None, f"{d} is not writable")
        return (Place("v1", d), "") if _writable(d) else (None, f"{d} is not a writable cgroup")
    try:
        table = mounts(MOUNTINFO.read_text() if mountinfo is None else mountinfo)
        paths = own_paths(OWN.read_text() if own is None else own)
    except (OSError, ValueError):
        return None, "cannot read the panel's cgroups"
    for fstype, root, mount, _ in table:
        if fstype == "cgroup2" and "memory" in _read(mount / "cgroup.controllers").split():
            d = _inside(mount, root, paths.get("", "/"))
            if "memory" in _read(d / "cgroup.subtree_control").split() and _writable(d):
                return Place("v2", d, d), ""
            return None, (
                f"the panel's cgroup {d} does not delegate the memory controller "
                "(set RXPANEL_BUILD_CGROUP to a cgroup the panel may write)"
            )
    found: dict[str, Path] = {}
    for fstype, root, mount, controllers in table:
        for name in ("memory", "cpuacct"):
            if fstype == "cgroup" and name in controllers and name in paths:
                found.setdefault(name, _inside(mount, root, paths[name]))
    memory = found.get("memory")
    if memory is None:
        return None, "no cgroup memory controller on this host"
    if not _writable(memory):
        return None, f"the panel may not write its memory cgroup {memory}"
    cpu = found.get("cpuacct")
    return Place("v1", memory, cpu if cpu is not None and _writable(cpu) else None), ""


def create(place: Place, memory_mb: int) -> Group:
    """A new group under place with memory capped at memory_mb (OSError if refused)."""
    name = f"{PREFIX}{os.getpid()}-{next(_names)}"
    limit = str(memory_mb << 20)
    memory = place.memory / name
    cpu = None if place.cpu is None or place.cpu == place.memory else place.cpu / name
    group = Group(place.kind, memory, cpu if place.kind == "v1" else None)
    for d in group.dirs:
        d.mkdir()
    try:
        if place.kind == "v2":
            (memory / "memory.max").write_text(limit)
            _try_write(memory / "memory.swap.max", "0")
            _try_write(memory / "memory.oom.group", "1")  # one OOM kill takes the whole step
        else:
            (memory / "memory.limit_in_bytes").write_text(limit)
            _try_write(memory / "memory.memsw.limit_in_bytes", limit)  # no swapping past it
    except OSError:
        group.remove()
        raise
    return group


def _try_write(path: Path, value: str) -> None:
    try:
        path.write_text(value)
    except OSError:
        pass  # not on this kernel (no swap accounting, old kernel): the limit still holds


def sweep(place: Place) -> None:
    """Empty groups left by a panel that died: removed (a busy one stays)."""
    for parent in {place.memory, place.cpu} - {None}:
        for d in parent.glob(PREFIX + "*"):
            pid = d.name[len(PREFIX) :].split("-")[0]
            if pid.isdigit() and int(pid) != os.getpid() and not Path(f"/proc/{pid}").exists():
                try:
                    d.rmdir()
                except OSError:
                    pass
