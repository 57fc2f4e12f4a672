"""Database tables (SQLModel). Secrets are stored encrypted, in fields named *_enc."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, Index, Text, TypeDecorator, text
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in and out, on every database (SQLite returns naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def Timestamp(**kw):  # noqa: N802 - reads like a type in the models below
    """A timezone-aware timestamp column (UTC)."""
    return Field(sa_type=UTCDateTime, **kw)


class Server(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True)
    host: str
    port: int = 22
    user: str = "root"
    ssh_key_enc: str = Field(sa_column=Column(Text, nullable=False))
    sudo: bool = False
    deploy_root: str = "/srv/rxpanel"
    nginx_conf_dir: str = "/etc/nginx/conf.d"
    nginx_cmd: str = "nginx"
    supervisor_conf_dir: str = "/etc/supervisor/conf.d"
    supervisorctl_cmd: str = "supervisorctl"
    # "<key type> <base64>" recorded at the first connection; a change refuses to connect
    host_key: str | None = None
    created_at: datetime = Timestamp(default_factory=utcnow)


class App(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True)
    # where it runs: its AppServer rows (one of them primary)
    source: str
    branch: str = "main"
    url: str
    env_enc: str = Field(sa_column=Column(Text, nullable=False))  # encrypted JSON object
    keep_releases: int = 5
    # relative paths kept in shared/ across releases, space separated; dirs end with /
    shared_paths: str = ""
    health_path: str = "/ping"
    health_timeout: int = 60  # seconds the new colour gets to answer the health path
    standby_minutes: float = 15  # the old colour stays up this long for instant rollback
    stop_drain: int = 10  # seconds a stopping colour finishes its requests before it is killed
    drain_seconds: float = 10  # then its open tabs are moved to the live colour
    live_color: str | None = None  # "blue" | "green" | None before the first deploy
    current_release_id: str | None = None
    # health checks of url + health_path (see rxpanel/health)
    check_interval: int = 30  # seconds
    check_timeout: float = 5  # seconds
    failure_threshold: int = 3  # consecutive failures that make it down
    auto_rollback: bool = True  # roll back when down inside the watch window after a deploy
    watch_minutes: float = 5
    health_state: str | None = None  # healthy | degraded | down | None (not checked yet)
    failure_streak: int = 0
    success_streak: int = 0
    webhook_secret_enc: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # a pushed commit older than the live one (a replayed push) deploys only when allowed
    allow_old_pushes: bool = False
    # the only SSH identity a clone of the app's source uses: an encrypted OpenSSH
    # private key made for this app (its public half goes to the git host)
    deploy_key_enc: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # build limits (None: the panel's defaults, see settings)
    build_memory_mb: int | None = None
    build_cpu_seconds: int | None = None
    build_timeout: int | None = None  # wall-clock seconds of one build step
    # env keys the operator marked build-time, space separated (REFLEX_* always are:
    # see envkinds.py); the others are runtime and never reach the build
    build_env_keys: str = ""
    # the state store blue and green share: "server" (a Redis of the app's own on each
    # server, see deploy/commands/store.py) or "off"; its password, made on first need
    state_store: str = "server"
    state_password_enc: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # a deploy whose state classes are not the live release's (a class removed, its
    # fields changed): "reset" clears the stored state at the switch, "refuse" fails it
    on_state_change: str = "reset"
    # a tab still on the previous release's bundle: "reload" when quiet, or a "notice"
    on_new_release: str = "reload"
    # backend worker processes per colour; more than one needs the shared state store
    workers: int = 1
    created_at: datetime = Timestamp(default_factory=utcnow)


class Release(SQLModel, table=True):
    """A build of one commit with one env snapshot, uploaded to the app's server."""

    id: str = Field(primary_key=True)  # 20261121T180102-ab12cd: sortable by time
    app_id: int = Field(foreign_key="app.id", index=True)
    commit: str
    build_key: str
    req_hash: str
    env_enc: str = Field(sa_column=Column(Text, nullable=False))
    env_hash: str = ""
    status: str = "new"  # new | ready | live | good | bad
    reason: str | None = None
    created_at: datetime = Timestamp(default_factory=utcnow)
    live_at: datetime | None = Timestamp(default=None)
    removed_at: datetime | None = Timestamp(default=None)  # its files left the server
    # the alembic head(s) of its migrations, space separated ("" without alembic/)
    schema_heads: str = ""
    database: str = ""  # "PostgreSQL at db:5432" for a server database; "" for SQLite
    # its Reflex state classes {full name: schema hash} as JSON; "" when not known
    state_schema: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))


DEPLOY_STATES_FINAL = ("success", "failed", "superseded", "interrupted", "cancelled")


class Deployment(SQLModel, table=True):
    __table_args__ = (
        # The database half of "one deploy per app at a time", and coalescing:
        # at most one running and one queued deployment per app.
        Index(
            "one_running_per_app",
            "app_id",
            unique=True,
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
        Index(
            "one_queued_per_app",
            "app_id",
            unique=True,
            sqlite_where=text("status = 'queued'"),
            postgresql_where=text("status = 'queued'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    app_id: int = Field(foreign_key="app.id", index=True)
    kind: str = "deploy"  # deploy | rollback
    ref: str | None = None  # requested git ref (deploy) or release id (rollback)
    trigger: str = "cli"  # cli | ui | webhook | auto
    triggered_by: str = ""
    status: str = Field(default="queued", index=True)
    commit: str | None = None
    release_id: str | None = None
    reason: str | None = None
    runner: str | None = None  # host:pid of the process running it
    heartbeat_at: datetime | None = Timestamp(default=None)
    superseded_by: int | None = None
    created_at: datetime = Timestamp(default_factory=utcnow)
    started_at: datetime | None = Timestamp(default=None)
    finished_at: datetime | None = Timestamp(default=None)


class DeploymentStep(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    deployment_id: int = Field(foreign_key="deployment.id", index=True)
    name: str
    status: str = "running"  # running | ok | failed
    started_at: datetime = Timestamp(default_factory=utcnow)
    duration: float | None = None  # seconds


class DeploymentLog(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    deployment_id: int = Field(foreign_key="deployment.id", index=True)
    created_at: datetime = Timestamp(default_factory=utcnow)
    step: str = ""
    level: str = "info"  # info | warn | error | output
    line: str = Field(sa_column=Column(Text, nullable=False))


ROLES = ("admin", "deployer", "viewer")


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(index=True, unique=True)
    password_hash: str
    role: str = "viewer"  # admin | deployer | viewer
    disabled: bool = False
    created_at: datetime = Timestamp(default_factory=utcnow)
    last_login_at: datetime | None = Timestamp(default=None)


class UserSession(SQLModel, table=True):
    """A login. Only the token's hash is stored; the browser holds the token."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(index=True, unique=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    address: str = ""
    created_at: datetime = Timestamp(default_factory=utcnow)
    expires_at: datetime = Timestamp()


class HealthCheck(SQLModel, table=True):
    """One probe of an app's public URL + health path."""

    __table_args__ = (Index("ix_healthcheck_app_time", "app_id", "checked_at"),)

    id: int | None = Field(default=None, primary_key=True)
    app_id: int = Field(foreign_key="app.id")
    checked_at: datetime = Timestamp(default_factory=utcnow)
    ok: bool
    status_code: int | None = None
    latency_ms: float | None = None
    error: str | None = None


class HealthRollup(SQLModel, table=True):
    """One hour of an app's checks, kept after the raw rows are gone."""

    __table_args__ = (Index("ix_healthrollup_app_hour", "app_id", "hour", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    app_id: int = Field(foreign_key="app.id")
    hour: datetime = Timestamp()
    checks: int = 0
    failures: int = 0
    latency_avg_ms: float | None = None
    latency_max_ms: float | None = None


class Incident(SQLModel, table=True):
    """A time the app was not healthy: from the first failing check to recovery."""

    id: int | None = Field(default=None, primary_key=True)
    app_id: int = Field(foreign_key="app.id", index=True)
    state: str  # the worst state reached: degraded | down
    cause: str
    started_at: datetime = Timestamp(default_factory=utcnow)
    ended_at: datetime | None = Timestamp(default=None)
    rolled_back: bool = False


class NotificationChannel(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True)
    kind: str  # webhook | slack | discord
    url_enc: str = Field(sa_column=Column(Text, nullable=False))
    enabled: bool = True
    created_at: datetime = Timestamp(default_factory=utcnow)


class Notification(SQLModel, table=True):
    """One message to one channel, retried with backoff until sent or given up."""

    id: int | None = Field(default=None, primary_key=True)
    channel_id: int = Field(foreign_key="notificationchannel.id", index=True)
    event: str  # health.down | health.recovered | deploy.success | deploy.failed | ...
    app_id: int | None = Field(default=None, foreign_key="app.id")
    text: str = Field(sa_column=Column(Text, nullable=False))
    payload: str = Field(sa_column=Column(Text, nullable=False))  # JSON of the event
    status: str = Field(default="pending", index=True)  # pending | sent | failed
    attempts: int = 0
    next_attempt_at: datetime = Timestamp(default_factory=utcnow)
    last_error: str | None = None
    created_at: datetime = Timestamp(default_factory=utcnow)
    sent_at: datetime | None = Timestamp(default=None)


class WebhookDelivery(SQLModel, table=True):
    """Every call to an app's deploy webhook, with what came of it."""

    __table_args__ = (
        Index("ix_webhookdelivery_dedupe", "app_id", "provider", "delivery_id", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    app_id: int = Field(foreign_key="app.id", index=True)
    provider: str
    delivery_id: str | None = None  # the host's id: a repeat is answered, not queued again
    event: str = ""
    ref: str = ""
    commit: str = ""
    outcome: str  # queued | ignored | duplicate | rejected | error
    detail: str = ""
    status_code: int
    deployment_id: int | None = None
    address: str = ""
    created_at: datetime = Timestamp(default_factory=utcnow)


class Lease(SQLModel, table=True):
    """A named lock with an expiry: the leader among panel processes holds 'worker'."""

    name: str = Field(primary_key=True)
    holder: str
    expires_at: datetime = Timestamp()


class AuditEvent(SQLModel, table=True):
    """Who did what to which target, when, from where, and how it ended.
    Append-only: the service has no update or delete, and the database refuses them."""

    __table_args__ = (Index("ix_auditevent_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Timestamp(default_factory=utcnow)
    actor: str = Field(index=True)  # a user name, "cli:user@host", "webhook:github", "system"
    action: str = Field(index=True)  # login, login.failed, app.update, deploy, token.issue, ...
    target: str = ""  # app:demo, server:web1, user:ada, deployment:12
    address: str = ""
    outcome: str = "ok"  # ok | refused | failed
    detail: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))


class ApiToken(SQLModel, table=True):
    """A user's token for the HTTP API and the remote CLI; only its hash is kept."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    name: str
    prefix: str  # the first characters, to tell tokens apart in lists
    token_hash: str = Field(index=True, unique=True)
    scope: str = "read"  # read | deploy | admin (never more than the user's role)
    created_at: datetime = Timestamp(default_factory=utcnow)
    expires_at: datetime | None = Timestamp(default=None)
    last_used_at: datetime | None = Timestamp(default=None)
    revoked_at: datetime | None = Timestamp(default=None)


class AppServer(SQLModel, table=True):
    """A server an app is deployed to, with the app's two backend ports there: every
    server of an app has a row, the first one given is its primary (migrations run there)."""

    __table_args__ = (
        Index("ix_appserver_app_server", "app_id", "server_id", unique=True),
        # the database half of "exactly one primary per app"
        Index(
            "one_primary_per_app",
            "app_id",
            unique=True,
            sqlite_where=text('"primary"'),
            postgresql_where=text('"primary"'),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    app_id: int = Field(foreign_key="app.id", index=True)
    server_id: int = Field(foreign_key="server.id", index=True)
    port_blue: int
    port_green: int
    primary: bool = False
    # the alembic revision(s) the app's database there is at, after its last
    # migration or restore (None: not known yet)
    db_revision: str | None = None


class StandbyStop(SQLModel, table=True):
    """When the panel's scheduler stops an app's warm standby on one server (one row
    per app and server; a later switch replaces it). Plain ids, no foreign keys: a
    row outliving its app or server is skipped and dropped by the job."""

    __table_args__ = (Index("ix_standbystop_app_server", "app_id", "server_id", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    app_id: int = Field(index=True)
    server_id: int
    color: str
    release_id: str
    due_at: datetime = Timestamp(index=True)
