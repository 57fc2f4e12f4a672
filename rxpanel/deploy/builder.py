"""The local build as the deploy steps call it (checkout, build_key,
ensure_build_venv, export: build.py's functions), under the app's build limits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rxpanel.deploy import build, local
from rxpanel.deploy.limits import Limits
from rxpanel.deploy.local import Log
from rxpanel.deploy.plan import AppSettings


@dataclass(frozen=True)
class Builder:
    limits: Limits
    build_key = staticmethod(build.build_key)

    @classmethod
    def of(cls, app: AppSettings) -> Builder:
        """The app's own limits where it sets them, the panel's defaults elsewhere."""
        return cls(
            Limits.of(app.name, app.build_memory_mb, app.build_cpu_seconds, app.build_timeout)
        )

    def checkout(
        self, app: str, source: str, branch: str, ref: str | None, log: Log, deploy_key: str = ""
    ):
        log(self.limits.describe(local.enforcement()))
        return build.checkout(app, source, branch, ref, log, deploy_key, limits=self.limits)

    def ensure_build_venv(self, source: build.Source, log: Log) -> Path:
        return build.ensure_build_venv(source, log, limits=self.limits)

    def export(self, app: str, source: build.Source, venv: Path, **kw) -> build.Build:
        return build.export(app, source, venv, limits=self.limits, **kw)
