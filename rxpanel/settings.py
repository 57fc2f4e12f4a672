"""Typed settings read from the environment, once per process."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

PLACEHOLDERS = {"", "changeme", "change-me", "secret", "placeholder", "xxx"}


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    home: Path
    db_url: str
    secret_key: str | None  # None: use (or create) the key file in home
    # reverse proxies whose X-Forwarded-For is believed (RXPANEL_TRUSTED_PROXIES);
    # none by default: a client's address is the socket's peer
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = field(default=())
    # each build step's limits unless the app sets its own (deploy/limits.py)
    build_memory_mb: int = 2048  # RXPANEL_BUILD_MEMORY_MB
    build_cpu_seconds: int = 900  # RXPANEL_BUILD_CPU_SECONDS
    build_timeout: int = 1200  # RXPANEL_BUILD_TIMEOUT, wall clock
    # directories local sources (a path, a file:// URL) may come from
    # (RXPANEL_SOURCE_ROOTS, colon separated); none by default: no local sources
    source_roots: tuple[Path, ...] = field(default=())

    @property
    def key_file(self) -> Path:
        return self.home / "secret.key"

    @property
    def builds_dir(self) -> Path:
        return self.home / "builds"

    @property
    def build_venvs_dir(self) -> Path:
        return self.home / "venvs"


def load() -> Settings:
    home = Path(os.environ.get("RXPANEL_HOME") or ".rxpanel").expanduser().resolve()
    db_url = os.environ.get("RXPANEL_DB_URL") or f"sqlite:///{home / 'rxpanel.db'}"
    secret = os.environ.get("RXPANEL_SECRET_KEY")
    if secret is not None and secret.strip().lower() in PLACEHOLDERS:
        raise SettingsError("RXPANEL_SECRET_KEY is a placeholder; set a real key or unset it")
    proxies = parse_networks(os.environ.get("RXPANEL_TRUSTED_PROXIES", ""))
    roots = parse_roots(os.environ.get("RXPANEL_SOURCE_ROOTS", ""))
    return Settings(
        home=home,
        db_url=db_url,
        secret_key=secret,
        trusted_proxies=proxies,
        source_roots=roots,
        **{name: build_limit(name) for name in BUILD_LIMITS},
    )


# a build's limits: (what it is called, lowest, highest), for the panel's defaults and
# for an app's own (App.build_memory_mb... None: the panel's default)
BUILD_LIMITS = {
    "build_memory_mb": ("build memory (MB)", 128, 262144),
    "build_cpu_seconds": ("build CPU time (s)", 10, 86400),
    "build_timeout": ("build timeout (s)", 10, 86400),
}


def build_limit(name: str) -> int:
    """RXPANEL_BUILD_MEMORY_MB and friends: a whole number within BUILD_LIMITS."""
    var = f"RXPANEL_{name.upper()}"
    value = os.environ.get(var, "").strip()
    if not value:
        return Settings.__dataclass_fields__[name].default
    _, low, high = BUILD_LIMITS[name]
    if not value.isdigit() or not low <= int(value) <= high:
        raise SettingsError(f"{var} must be a whole number from {low} to {high}, not {value!r}")
    return int(value)


def app_build_limit(name: str, value: int | str | None) -> int | None:
    """An app's own build limit: a whole number within BUILD_LIMITS, or None (the
    panel's default) for None, "" or "default"."""
    from rxpanel import validate

    if value is None or str(value).strip().lower() in ("", "default"):
        return None
    what, low, high = BUILD_LIMITS[name]
    try:
        return validate.positive(value, what, low, high)
    except validate.ValidationError as e:
        raise validate.ValidationError(f"{e}; empty (or 'default'): the panel's default") from None


def parse_roots(value: str) -> tuple[Path, ...]:
    """`/srv/apps:/home/me/src` as real paths (symlinks resolved); a relative entry,
    or `/` (every directory of the host), is refused by name."""
    out = []
    for entry in value.split(":"):
        if not (entry := entry.strip()):
            continue
        if not entry.startswith("/"):
            raise SettingsError(f"RXPANEL_SOURCE_ROOTS: {entry!r} is not an absolute directory")
        real = Path(os.path.realpath(entry))
        if real == Path("/"):
            raise SettingsError(
                f"RXPANEL_SOURCE_ROOTS: {entry!r} would allow every directory of the host; "
                "name the directories that hold app sources"
            )
        out.append(real)
    return tuple(dict.fromkeys(out))


def parse_networks(value: str) -> tuple:
    """`127.0.0.1, 10.0.0.0/8, ::1` as networks; a bad entry is refused by name."""
    out = []
    for entry in value.replace(";", ",").split(","):
        if entry := entry.strip():
            try:
                out.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise SettingsError(
                    f"RXPANEL_TRUSTED_PROXIES: {entry!r} is not an IP address or network"
                ) from None
    return tuple(out)


@cache
def get() -> Settings:
    settings = load()
    settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
    return settings
