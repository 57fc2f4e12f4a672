"""Typed settings read from the environment, once per process."""

from __future__ import annotations

import os
from dataclasses import dataclass
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
    return Settings(home=home, db_url=db_url, secret_key=secret)


@cache
def get() -> Settings:
    settings = load()
    settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
    return settings
