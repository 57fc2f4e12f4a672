"""`rxpanel doctor`: PASS / WARN / FAIL findings about an app's checked-out source
and its settings, each from a small pure check (no network, nothing of the app run).

The same checks run at the start of every build (their findings go into the deploy
log); a FAIL that is certain to break the build (`fatal`) stops it before the long
part. The health-path probe is not here: it asks the network, so the use case
(rxpanel/actions/doctor.py) adds it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rxpanel.deploy.doctor.source import Tree
from rxpanel.deploy.envreads import ExportReads

PASS, WARN, FAIL = "PASS", "WARN", "FAIL"
LEVELS = (PASS, WARN, FAIL)


@dataclass(frozen=True)
class Finding:
    check: str  # a short name: "env-names", "sqlite", ...
    level: str  # PASS | WARN | FAIL
    message: str
    fatal: bool = False  # a FAIL the build cannot survive

    def __str__(self) -> str:
        return f"{self.level} {self.check}: {self.message}"

    def as_dict(self) -> dict:
        return {"check": self.check, "level": self.level, "message": self.message}


@dataclass(frozen=True)
class Facts:
    """What the checks know of the app besides its source."""

    app: str
    env: Mapping[str, str] = field(default_factory=dict)
    shared_dirs: tuple[str, ...] = ()  # <deploy root>/<app>/shared on each of its servers
    pinned: str | None = None  # the resolved requirements (resolve.py), when known
    build_keys: tuple[str, ...] = ()  # the env keys the operator marked build-time
    export_reads: ExportReads | None = None  # what the last build's export read, if known

    @property
    def servers(self) -> int:
        return max(1, len(self.shared_dirs))


Check = Callable[[Tree, Facts], list[Finding]]


def run(src: Path, facts: Facts, checks: tuple[Check, ...] | None = None) -> list[Finding]:
    from rxpanel.deploy.doctor import checks as all_checks

    tree = Tree(src, facts.pinned)
    findings: list[Finding] = []
    for check in checks if checks is not None else all_checks.ALL:
        findings.extend(check(tree, facts))
    return findings


def build_checks() -> tuple[Check, ...]:
    """At build start: the checkout has already refused a tree without rxconfig.py
    or requirements.txt."""
    from rxpanel.deploy.doctor import checks as all_checks

    return all_checks.BUILD


def worst(findings: list[Finding]) -> str:
    return max((f.level for f in findings), key=LEVELS.index, default=PASS)


def summary(findings: list[Finding]) -> str:
    count = {level: sum(f.level == level for f in findings) for level in LEVELS}
    return f"{count[PASS]} passed, {count[WARN]} WARN, {count[FAIL]} FAIL"
