"""What a deployment works with, handed in by the worker and frozen: the engine
reads no database. Lookups that must be asked while the deploy runs (is a build
cached, has the deployment holding a lock finished) are callables in the plan."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from rxpanel import envkinds
from rxpanel.deploy.commands import AppLayout, Host
from rxpanel.deploy.templates.supervisor import DEFAULT_DRAIN
from rxpanel.sshkeys import secret_parts


@dataclass(frozen=True)
class AppSettings:
    id: int
    name: str
    url: str
    source: str
    branch: str
    health_path: str = "/ping"
    health_timeout: float = 60
    standby_minutes: float = 15
    stop_drain: int = DEFAULT_DRAIN  # seconds a stopping colour drains before it is killed
    # after the switch, the old colour's open websockets get this long, then it is
    # restarted (still warm): every tab reconnects to the live colour (steps/cutover.py)
    drain_seconds: float = 10
    # a tab on an older release's bundle: "reload" at a safe moment, or show a "notice"
    on_new_release: str = "reload"
    workers: int = 1  # backend processes per colour (GRANIAN_WORKERS); > 1 needs a shared store
    keep_releases: int = 5
    shared_paths: tuple[str, ...] = ()  # declared by the operator, linked to shared/
    live_color: str | None = None
    current_release_id: str | None = None
    # each build step's limits; None: the panel's defaults (settings, deploy/limits.py)
    build_memory_mb: int | None = None
    build_cpu_seconds: int | None = None
    build_timeout: int | None = None
    # the app's deploy key (decrypted, never logged): the only identity its clone uses
    deploy_key: str = field(default="", repr=False)
    build_env_keys: tuple[str, ...] = ()  # marked build-time by the operator (envkinds.py)
    # the state store blue and green share (commands/store.py): "server", a Redis per
    # app on each server, or "off" (Reflex's memory: a tab's state dies with its colour);
    # a REFLEX_REDIS_URL in the app's env is the operator's own store and wins
    state_store: str = "server"
    state_password: str = field(default="", repr=False)  # the server store's (never logged)
    # the new release's state classes are not the live one's (steps/states.py): "reset"
    # clears the stored state right after the switch, "refuse" fails before any start
    on_state_change: str = "reset"

    @property
    def managed_store(self) -> bool:
        """rxpanel runs the app's Redis on its servers."""
        return self.state_store == "server" and bool(self.state_password)


@dataclass(frozen=True)
class ReleaseInfo:
    """A release as retention and rollback see it."""

    id: str
    commit: str
    status: str = "new"
    req_hash: str = ""
    build_key: str = ""
    live_at: datetime | None = None
    removed_at: datetime | None = None
    schema_heads: str = ""  # alembic head(s) of its migrations, space separated
    database: str = ""  # "PostgreSQL at db:5432" for a server database; "" for SQLite
    env_hash: str = ""  # of its env snapshot: the same build with another env is a new release
    state_schema: str = ""  # its state classes {full name: schema hash} as JSON (deploy/states.py)


@dataclass(frozen=True)
class TargetPlan:
    """One server of the app: how to reach it, its paths and the app's ports there."""

    server_id: int
    name: str
    host: str
    port: int
    user: str
    private_key: str  # decrypted, never logged
    host_key: str | None  # pinned; None until the first connection records it
    paths: Host
    ports: Mapping[str, int]  # colour -> backend port
    primary: bool = False
    spare_ports: tuple[int, ...] = ()  # free backend ports, if a stranger holds ours

    def layout(self, app: str) -> AppLayout:
        return AppLayout(self.paths, app)


def _never(_key: str) -> ReleaseInfo | None:
    return None


def _unknown(_deployment_id: int) -> bool:
    return False


@dataclass(frozen=True)
class Plan:
    deployment_id: int
    kind: str  # deploy | rollback
    owner: str  # who holds the server locks, "deployment #12 (host:pid)"
    app: AppSettings
    env: Mapping[str, str]
    targets: tuple[TargetPlan, ...]  # the primary first
    ref: str | None = None
    rollback_to: ReleaseInfo | None = None  # chosen and checked by the worker
    releases: tuple[ReleaseInfo, ...] = ()  # the app's releases, for retention
    reusable: Callable[[str], ReleaseInfo | None] = field(default=_never)  # by build key
    finished: Callable[[int], bool] = field(default=_unknown)  # is deployment #n final

    @property
    def secrets(self) -> list[str]:
        key = secret_parts(self.app.deploy_key) if self.app.deploy_key else []
        store = [self.app.state_password] if self.app.state_password else []
        return [*self.env.values(), *key, *store]

    @property
    def managed_store(self) -> bool:
        """The app's Redis is rxpanel's to run (no REFLEX_REDIS_URL of the operator's)."""
        return self.app.managed_store and "REFLEX_REDIS_URL" not in self.env

    @property
    def build_env(self) -> dict[str, str]:
        """The build-time variables: the only ones the export and the build key see."""
        return envkinds.build_env(self.env, self.app.build_env_keys)

    @property
    def shared_state(self) -> bool:
        """Open tabs keep their state in a store both colours share (rxpanel's or the
        operator's REFLEX_REDIS_URL): only then can a release meet another's state."""
        return self.managed_store or "REFLEX_REDIS_URL" in self.env

    @property
    def fleet(self) -> bool:
        return len(self.targets) > 1


def lock_owner(deployment_id: int, runner: str | None) -> str:
    return f"deployment #{deployment_id} ({runner})"
