"""Where an app's source may come from: a git URL over https:// or ssh:// (or
git@host:path), or a local directory (a path, a file:// URL) under a directory the
admin allows (RXPANEL_SOURCE_ROOTS). Checked at the edge when an app is added or
changed, and again by the build right before it clones or copies (the setting,
or what a path's symlinks point at, may have changed since).

Local paths are compared as real paths (symlinks and `..` resolved): never `/`,
the panel's home (its keys and database) or a directory around it, never a
device or any other non-directory."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from rxpanel import settings
from rxpanel.validate import ValidationError, _no_control, _shown, abs_path, host

GIT_SCP = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[A-Za-z0-9._/~-]+$")
URL_CHARS = re.compile(r"[A-Za-z0-9._~:/@%+-]+")
FORMS = "https://, ssh:// or git@host:path"
ROOTS_HINT = "an admin allows a directory with RXPANEL_SOURCE_ROOTS=/path"
REFUSED = {
    "http": "http:// is refused (nothing is encrypted: anyone on the way can change the code)",
    "git": "git:// is refused (neither encrypted nor authenticated)",
}


@dataclass(frozen=True)
class Where:
    """A checked source as the build reaches it."""

    address: str  # what git is given: the URL, or the real path of a local source
    scheme: str  # https | ssh | file (a local directory or file:// URL)
    local: Path | None = None  # the real path of an allowed local source
    git: bool = True  # False: a plain directory, copied as it is

    @property
    def uses_ssh(self) -> bool:
        return self.scheme == "ssh"


def check(value: str) -> str:
    """The cleaned source, or ValidationError saying what to use instead."""
    return _parse(value)[0]


def locate(value: str) -> Where:
    """Check the source again, now, and say how the build reaches it."""
    clean, scheme, path = _parse(value)
    if scheme != "file":
        return Where(clean, scheme)
    real = allowed_dir(path, clean)
    is_git = clean.startswith("file:") or (real / ".git").exists()
    return Where(str(real), "file", local=real, git=is_git)


def _parse(value: str) -> tuple[str, str, str]:
    """(cleaned value, scheme, local path or "") of a source, checked."""
    value = (value or "").strip()
    _no_control(value, "source")
    if value.startswith("/"):
        path = abs_path(value, "source directory")
        allowed_dir(path, path)
        return path, "file", path
    if GIT_SCP.fullmatch(value) and not value.startswith("-"):
        where, _, repo = value.partition("@")[2].partition(":")
        _host(value, where)
        if repo.startswith("-"):
            raise ValidationError(
                f"source {_shown(value)}: the repository path must not start with '-'"
            )
        return value, "ssh", ""
    if "::" in value.split("/", 1)[0]:
        raise ValidationError(
            f"source {_shown(value)}: git's transport::address form runs programs on the "
            f"panel host; use {FORMS}"
        )
    parts = urlsplit(value)
    scheme = parts.scheme.lower()
    if parts.password or (parts.username and scheme in ("http", "https")):
        raise ValidationError(
            "source URL must not hold a password or token; use https:// for a public "
            "repository, or ssh:// with the app's deploy key (`rxpanel app deploy-key APP`)"
        )
    if scheme in REFUSED:
        raise ValidationError(f"source {_shown(value)}: {REFUSED[scheme]}; use {FORMS}")
    if scheme == "file":
        if parts.netloc or parts.query or parts.fragment:
            raise ValidationError(
                f"source {_shown(value)}: a file:// URL names a directory of the panel host "
                "(file:///path), nothing else"
            )
        path = abs_path(parts.path, "source directory")
        allowed_dir(path, value)
        return value, "file", path
    if scheme in ("https", "ssh") and parts.netloc:
        if not URL_CHARS.fullmatch(value):
            raise ValidationError(f"source URL {_shown(value)} holds characters a git URL cannot")
        try:
            parts.port  # noqa: B018 - raises ValueError for a bad port
        except ValueError:
            raise ValidationError(f"source URL {_shown(value)} has a bad port") from None
        if (parts.username or "").startswith("-"):
            raise ValidationError(f"source URL {_shown(value)}: the user must not start with '-'")
        _host(value, parts.hostname or "")
        return value, scheme, ""
    raise ValidationError(
        f"source {_shown(value)} must be a git URL ({FORMS}) or a local directory "
        f"an admin allows (RXPANEL_SOURCE_ROOTS)"
    )


def _host(value: str, name: str) -> None:
    """The host of a git URL: a hostname or an IP address, so never an ssh option
    such as '-oProxyCommand=...' (git refuses those too, but they are not stored)."""
    try:
        host(name)
    except ValidationError:
        raise ValidationError(
            f"source URL {_shown(value)} does not name a valid host ({_shown(name)})"
        ) from None


def allowed_dir(path: str, shown: str) -> Path:
    """The real path of a local source directory the admin allows, or why not."""
    found = settings.get()
    what = f"source {_shown(shown)}"
    if not found.source_roots:
        raise ValidationError(f"{what}: local sources are off: {ROOTS_HINT}")
    real = Path(os.path.realpath(path))
    said = f"{real}" if str(real) == path else f"{real} (where {path} leads)"
    home = Path(os.path.realpath(found.home))
    if real == Path("/"):
        raise ValidationError(f"{what} is the whole file system: name the app's own directory")
    if real == home or home in real.parents:
        raise ValidationError(
            f"{what}: {said} is inside the panel's home ({home}), which holds its keys and "
            "database; keep app sources elsewhere"
        )
    if real in home.parents:
        raise ValidationError(
            f"{what}: {said} holds the panel's home ({home}), its keys and database; "
            "name the app's own directory"
        )
    if not any(real == root or root in real.parents for root in found.source_roots):
        roots = ":".join(str(r) for r in found.source_roots)
        raise ValidationError(
            f"{what}: {said} is outside the directories local sources may come from "
            f"(RXPANEL_SOURCE_ROOTS={roots}); {ROOTS_HINT}"
        )
    if not real.exists():
        raise ValidationError(f"{what}: {said} does not exist")
    if not real.is_dir():
        raise ValidationError(f"{what}: {said} is not a directory")
    return real
