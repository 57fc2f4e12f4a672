"""Per-build limits: memory, CPU time and wall clock of each build step (the
dependency install, `reflex export`), the panel's defaults or the app's own.

How each is enforced:
- memory: a cgroup per step (cgroup.py) where the host allows one; the kernel
  OOM-kills past it and counts the kill. Otherwise RLIMIT_DATA, per process.
  (Not RLIMIT_AS: node reserves far more address space than it uses.)
- CPU time: RLIMIT_CPU per process (SIGXCPU, then SIGKILL 5 s later), and with a
  cgroup the whole tree's CPU time, checked twice a second.
- wall clock: local.run's timer, which kills the step's whole process tree.

`wrap` is pure: the argv that joins the cgroup and sets the rlimits, as data."""

from __future__ import annotations

import signal
from dataclasses import dataclass

PRLIMIT = "/usr/bin/prlimit"
# joins each cgroup named before `--` (pid of this shell, which then execs the step)
JOIN = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"'
JOIN_FAILED = 125
CPU_GRACE = 5  # seconds between SIGXCPU and SIGKILL
FLAGS = {"memory": "--build-memory-mb", "cpu": "--build-cpu-seconds", "wall": "--build-timeout"}
WHAT = {"memory": "build memory limit", "cpu": "build CPU limit", "wall": "build timeout"}


@dataclass(frozen=True)
class Limits:
    memory_mb: int
    cpu_seconds: int
    timeout: int  # wall clock, seconds
    app: str = ""  # named in the fix a limit's error suggests

    @classmethod
    def of(
        cls,
        app: str = "",
        memory_mb: int | None = None,
        cpu_seconds: int | None = None,
        timeout: int | None = None,
    ) -> Limits:
        """The app's own limits where it has them, the panel's defaults elsewhere."""
        from rxpanel import settings

        s = settings.get()
        return cls(
            memory_mb=memory_mb or s.build_memory_mb,
            cpu_seconds=cpu_seconds or s.build_cpu_seconds,
            timeout=timeout or s.build_timeout,
            app=app,
        )

    def rlimits(self, memory: bool) -> list[str]:
        out = [f"--cpu={self.cpu_seconds}:{self.cpu_seconds + CPU_GRACE}"]
        if memory:  # no cgroup: a per-process cap on private writable memory
            out.append(f"--data={self.memory_mb << 20}:{self.memory_mb << 20}")
        return out

    def wrap(self, argv: list[str], procs: tuple[str, ...] = ()) -> list[str]:
        """argv under the rlimits, in the cgroup whose cgroup.procs files are given
        (none: memory by RLIMIT_DATA instead)."""
        limited = [PRLIMIT, *self.rlimits(memory=not procs), "--", *argv]
        if not procs:
            return limited
        return ["/bin/sh", "-c", JOIN, "rxpanel-limits", *procs, "--", *limited]

    def describe(self, how: str) -> str:
        """The build log's line: what is enforced, and how (how: 'cgroup v2', or why not)."""
        if how.startswith("cgroup"):
            memory, cpu = f"{how}", f"{how} total and per process"
        else:
            memory, cpu = f"per process, RLIMIT_DATA: no cgroup, {how}", "per process"
        return (
            f"build limits: {self.memory_mb} MB memory ({memory}), "
            f"{self.cpu_seconds} s CPU ({cpu}), {self.timeout} s wall clock per step"
        )

    def fix(self, cause: str) -> str:
        app = self.app or "APP"
        return f"raise the app's {WHAT[cause]} (rxpanel app update {app} {FLAGS[cause]} N)"

    def exceeded(self, what: str, cause: str) -> str:
        """The deploy error when a limit stopped a step: the cause and the fix."""
        used = {
            "memory": f"used more than {self.memory_mb} MB of memory",
            "cpu": f"used more than {self.cpu_seconds} s of CPU time",
            "wall": f"did not finish within {self.timeout} s",
        }[cause]
        return f"{what} {used} and was stopped: {self.fix(cause)}"


def killed_by_cpu_rlimit(code: int) -> bool:
    """SIGXCPU ends the process (bwrap reports its child's signal as 128 + n)."""
    return code in (-signal.SIGXCPU, 128 + signal.SIGXCPU)


MEMORY_ERRORS = ("MemoryError", "out of memory", "Cannot allocate memory", "ENOMEM")


def looks_out_of_memory(lines: list[str]) -> bool:
    """Without a cgroup, RLIMIT_DATA makes allocations fail: what programs print then."""
    return any(mark in line for line in lines[-200:] for mark in MEMORY_ERRORS)
