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
        home=home, db_url=db_url, secret_key=secret, trusted_proxies=proxies, source_roots=roots
    )


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
