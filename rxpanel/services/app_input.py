"""What an app's form, `app add` and `app update` give: validated at the edge of
the services, before anything is stored."""

from __future__ import annotations

from dataclasses import dataclass, field

from rxpanel import settings, sources, validate
from rxpanel.services.state_store import MODES as STORE_MODES

# a deploy whose state classes are not the live release's (deploy/steps/states.py)
STATE_CHANGE_MODES = ("reset", "refuse")
# a tab on an older release's bundle: reloads when quiet, or shows a notice (templates/live.py)
NEW_RELEASE_MODES = ("reload", "notice")

# An app's settings beyond where it runs and what it is: the CLI's `app add` and
# `app update` flags and the panel's app form both offer exactly these.
SETTINGS = (
    "branch",
    "keep_releases",
    "health_path",
    "health_timeout",
    "standby_minutes",
    "stop_drain",
    "check_interval",
    "check_timeout",
    "failure_threshold",
    "auto_rollback",
    "watch_minutes",
    *settings.BUILD_LIMITS,  # build_memory_mb, build_cpu_seconds, build_timeout
)
# The CLI's flags: the form's settings and shared_paths, which a form that does not
# show it must not clear (AppInput.shared_paths None keeps what is stored).
CLI_SETTINGS = (
    *SETTINGS,
    "shared_paths",
    "allow_old_pushes",
    "state_store",
    "drain_seconds",
    "on_state_change",
    "on_new_release",
    "workers",
)


@dataclass
class AppInput:
    name: str
    server: str
    source: str
    url: str
    branch: str = "main"
    env: dict[str, str] = field(default_factory=dict)
    keep_releases: int | str = 5
    shared_paths: str | None = None  # None: unchanged (none for a new app)
    allow_old_pushes: bool | str | None = None  # None: unchanged (no for a new app)
    state_store: str | None = None  # None: unchanged ("server" for a new app)
    drain_seconds: float | str | None = None  # None: unchanged (10 for a new app)
    on_state_change: str | None = None  # None: unchanged ("reset" for a new app)
    on_new_release: str | None = None  # None: unchanged ("reload" for a new app)
    workers: int | str | None = None  # None: unchanged (1 for a new app)
    health_path: str = "/ping"
    health_timeout: int | str = 60
    standby_minutes: float | str = 15
    stop_drain: int | str = 10
    check_interval: int | str = 30
    check_timeout: float | str = 5
    failure_threshold: int | str = 3
    auto_rollback: bool | str = True
    watch_minutes: float | str = 5
    build_memory_mb: int | str | None = None  # None: the panel's default (settings)
    build_cpu_seconds: int | str | None = None
    build_timeout: int | str | None = None
    # an IP-address or catch-all URL: an admin's explicit consent (actions check the role)
    allow_ip_url: bool = False

    def check_consent(self, url: str) -> None:
        """Refuse a URL that takes other sites' traffic unless allowed (validate.needs_admin)."""
        why = validate.needs_admin(url)
        if why and not self.allow_ip_url:
            raise validate.ValidationError(why)

    def cleaned(self) -> dict:
        shared = {}
        if self.shared_paths is not None:
            shared["shared_paths"] = validate.shared_paths(self.shared_paths)
        if self.allow_old_pushes is not None:
            shared["allow_old_pushes"] = validate.flag(self.allow_old_pushes, "allow old pushes")
        if self.state_store is not None:
            shared["state_store"] = validate.choice(self.state_store, "state store", STORE_MODES)
        if self.drain_seconds is not None:
            shared["drain_seconds"] = validate.number(self.drain_seconds, "drain seconds", 0, 600)
        if self.workers is not None:
            shared["workers"] = validate.positive(self.workers, "workers", 1, 32)
        if self.on_new_release is not None:
            shared["on_new_release"] = validate.choice(
                self.on_new_release, "on new release", NEW_RELEASE_MODES
            )
        if self.on_state_change is not None:
            shared["on_state_change"] = validate.choice(
                self.on_state_change, "on state change", STATE_CHANGE_MODES
            )
        return shared | {
            "name": validate.slug(self.name, "app name"),
            "source": sources.check(self.source),
            "branch": validate.git_ref(self.branch, "branch"),
            "url": validate.public_url(self.url),
            "keep_releases": validate.positive(self.keep_releases, "releases to keep", 1, 100),
            "health_path": validate.health_path(self.health_path),
            "health_timeout": validate.positive(self.health_timeout, "health timeout", 1, 3600),
            "standby_minutes": validate.number(self.standby_minutes, "standby minutes", 0, 1440),
            "stop_drain": validate.positive(self.stop_drain, "stop drain", 1, validate.STOP_DRAIN_MAX),
            "check_interval": validate.positive(self.check_interval, "check interval", 5, 86400),
            "check_timeout": validate.number(self.check_timeout, "check timeout", 0.1, 60),
            "failure_threshold": validate.positive(
                self.failure_threshold, "failure threshold", 1, 100
            ),
            "auto_rollback": validate.flag(self.auto_rollback, "auto rollback"),
            "watch_minutes": validate.number(self.watch_minutes, "watch minutes", 0, 1440),
            "env": clean_env(self.env),
            **self.build_limits(),
        }

    def build_limits(self) -> dict[str, int | None]:
        return {
            name: settings.app_build_limit(name, getattr(self, name))
            for name in settings.BUILD_LIMITS
        }


def clean_env(env: dict[str, str]) -> dict[str, str]:
    return {validate.env_key(k): validate.env_value(k, v) for k, v in env.items()}
