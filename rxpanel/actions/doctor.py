"""Doctor an app: the checks of rxpanel/deploy/doctor against its build workspace's
checkout, and, when it is deployed, whether its public URL + health path answers."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import httpx

from rxpanel import envkinds
from rxpanel.actions.actor import Actor, require
from rxpanel.deploy import build, doctor, envreads
from rxpanel.deploy.doctor import FAIL, PASS, WARN, Finding
from rxpanel.deploy.doctor.source import kept_pinned
from rxpanel.services import Conflict, apps, deploy_keys, deployments
from rxpanel.worker.plans import layout_of

PROBE_TIMEOUT = 3.0  # seconds


@dataclass
class Report:
    app: str
    source: str  # the checkout that was checked, "" when there is none yet
    findings: list[Finding] = field(default_factory=list)

    @property
    def worst(self) -> str:
        return doctor.worst(self.findings)

    def as_dict(self) -> dict:
        return {
            "app": self.app,
            "source": self.source or None,
            "worst": self.worst,
            "summary": doctor.summary(self.findings),
            "findings": [f.as_dict() for f in self.findings],
        }


def doctor_app(name: str, actor: Actor, *, checkout: bool = False, probe: bool = True) -> Report:
    """The findings for the app's last checkout (or a fresh one of its branch head
    with `checkout`: refused while a deployment of it runs, which uses the same
    workspace), then the health path when the app is deployed."""
    app = apps.get(name)
    require(actor, "viewer" if not checkout else "deployer", "app.doctor", f"app:{app.name}")
    src = build.workspace(app.name) / "src"
    report = Report(app.name, "")
    if checkout:
        busy = deployments.in_progress(app.id)
        if busy is not None:
            raise Conflict(f"{app.name} has a deployment in progress (#{busy}); wait for it first")
        try:
            key = deploy_keys.private(app)
            build.checkout(app.name, app.source, app.branch, None, lambda _line: None, key)
        except build.BuildError as e:
            report.findings.append(Finding("source", FAIL, f"checkout failed: {e}"))
    if src.is_dir():
        report.source = str(src)
        facts = doctor.Facts(
            app.name,
            apps.env_of(app),
            tuple(layout_of(app, server).shared for server, _ports in apps.targets(app)),
            pinned=kept_pinned(src, build.workspace(app.name) / "resolved"),
            build_keys=envkinds.marked(app.build_env_keys),
            export_reads=envreads.last(build.workspace(app.name)),
        )
        report.findings.extend(doctor.run(src, facts))
    elif not report.findings:
        report.findings.append(
            Finding(
                "source",
                WARN,
                f"no checkout of {app.name} yet: deploy it once, or run "
                f"`rxpanel doctor {app.name} --checkout`",
            )
        )
    if probe and app.current_release_id:
        report.findings.append(health_path(app.url.rstrip("/") + app.health_path))
    return report


def health_path(url: str, timeout: float = PROBE_TIMEOUT) -> Finding:
    start = time.perf_counter()
    try:
        response = httpx.get(url, timeout=timeout, follow_redirects=False)
    except httpx.HTTPError as e:
        return Finding("health", WARN, f"{url} did not answer: {e.__class__.__name__}: {e}")
    ms = (time.perf_counter() - start) * 1000
    if not 200 <= response.status_code < 300:
        return Finding("health", WARN, f"{url} answered HTTP {response.status_code}")
    return Finding("health", PASS, f"{url} answered {response.status_code} in {ms:.0f} ms")
