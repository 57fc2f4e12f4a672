"""Validators for every value that reaches a path, a config file or a shell.

Each returns the cleaned value or raises ValidationError with one clear sentence.
They run at the edge (CLI, UI handlers, webhooks) before anything is stored or run.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from urllib.parse import urlsplit

import idna

from rxpanel.errors import Invalid


class ValidationError(Invalid):
    """A malformed value (the API answers 400, not 422: it never got to the request)."""


SLUG = re.compile(r"^[a-z][a-z0-9-]{0,38}[a-z0-9]$|^[a-z]$")
USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
HOSTNAME_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
SAFE_PATH = re.compile(r"^/[A-Za-z0-9._/+-]*$")
SAFE_TOKEN = re.compile(r"^[A-Za-z0-9_./=:+@-]+$")
# the longest stop drain an app may ask for (seconds): every command that stops a
# colour waits this long beyond its own timeout (deploy/templates/supervisor.py)
STOP_DRAIN_MAX = 120
ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/~^-]{0,199}$")
RELEASE_ID = re.compile(r"^[0-9]{8}T[0-9]{6}-[a-z0-9]{4,12}$")
MAX_ENV_VALUE = 8192
SHOWN = 60  # characters of a refused value quoted in its error message


def _shown(value) -> str:
    """A refused value as quoted in a message: cut short, so that a hostile
    5,000-character input does not make a 5,000-character error."""
    if isinstance(value, str) and len(value) > SHOWN:
        return f"{value[:SHOWN]!r}… ({len(value)} characters)"
    return repr(value)


def _no_control(value: str, what: str) -> None:
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValidationError(f"{what} must not contain control characters or newlines")


def slug(value: str, what: str = "name") -> str:
    value = (value or "").strip()
    if not SLUG.fullmatch(value):
        raise ValidationError(
            f"{what} {_shown(value)} is not valid: use 1-40 lowercase letters, digits and '-', "
            "starting with a letter and not ending with '-'"
        )
    return value


def host(value: str) -> str:
    value = (value or "").strip()
    _no_control(value, "host")
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        pass
    labels = value.rstrip(".").split(".")
    if not value or len(value) > 253 or not all(HOSTNAME_LABEL.fullmatch(x) for x in labels):
        raise ValidationError(f"host {_shown(value)} is not a valid hostname or IP address")
    return value.rstrip(".").lower()


def port(value: int | str, what: str = "port") -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ValidationError(f"{what} {_shown(value)} is not a number") from None
    if not 1 <= number <= 65535:
        raise ValidationError(f"{what} {number} is out of range (1-65535)")
    return number


def user(value: str) -> str:
    value = (value or "").strip()
    if not USER.fullmatch(value):
        raise ValidationError(f"user {_shown(value)} is not a valid Unix user name")
    return value


def abs_path(value: str, what: str = "path") -> str:
    value = (value or "").strip()
    if not SAFE_PATH.fullmatch(value) or len(value) > 255:
        raise ValidationError(
            f"{what} {_shown(value)} must be an absolute path of letters, digits and ._/+-"
        )
    if any(part in ("..", ".") for part in value.split("/")):
        raise ValidationError(f"{what} {_shown(value)} must not contain '.' or '..' parts")
    return value.rstrip("/") or "/"


def command(value: str, what: str = "command") -> str:
    """A command line such as 'sudo nginx -c /etc/nginx/nginx.conf': plain words only."""
    value = (value or "").strip()
    try:
        words = shlex.split(value)
    except ValueError:
        raise ValidationError(f"{what} {_shown(value)} cannot be parsed") from None
    if not words or len(value) > 255 or not all(SAFE_TOKEN.fullmatch(w) for w in words):
        raise ValidationError(
            f"{what} {_shown(value)} may only hold words of letters, digits and _./=:+@- "
            "(no shell operators or quotes)"
        )
    return " ".join(words)


def git_ref(value: str, what: str = "git ref") -> str:
    value = (value or "").strip()
    if (
        not REF.fullmatch(value)
        or ".." in value
        or "//" in value
        or value.endswith((".", "/", ".lock"))
        or "/." in value
    ):
        raise ValidationError(
            f"{what} {_shown(value)} is not valid: "
            "use letters, digits and ._/- (no '..', no leading '-')"
        )
    return value


def release_id(value: str) -> str:
    value = (value or "").strip()
    if not RELEASE_ID.fullmatch(value):
        raise ValidationError(
            f"release {_shown(value)} is not a release id (like 20261121T180102-ab12cd)"
        )
    return value


DEFAULT_PORTS = {"http": 80, "https": 443}
CATCH_ALL_HINT = "an admin can allow it with `--allow-ip-url` on `app add` or `app update`"


def public_url(value: str) -> str:
    """The app's public URL, normalised: scheme and host lower-case, the host in
    IDNA (punycode), no default port, no trailing slash; no path, query or
    credentials. Spellings of one site give one string, so they compare equal.
    A catch-all host (`_`, `*.example.com`) passes here: `needs_admin` says so."""
    value = (value or "").strip()
    _no_control(value, "URL")
    try:
        parts = urlsplit(value)
        url_port = parts.port
    except ValueError:
        raise ValidationError(f"URL {_shown(value)} is not valid") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValidationError(f"URL {_shown(value)} must start with http:// or https://")
    if parts.username or parts.password or "@" in parts.netloc or parts.query or parts.fragment:
        raise ValidationError(
            f"URL {_shown(value)} must not hold credentials, a query or a fragment"
        )
    if parts.path not in ("", "/"):
        raise ValidationError(f"URL {_shown(value)} must not have a path (apps are served at /)")
    if "%" in (parts.hostname or ""):
        raise ValidationError(f"URL {_shown(value)} must not use an IPv6 zone id")
    hostname = _url_host(value, parts.hostname or "")
    shown = f"[{hostname}]" if ":" in hostname else hostname
    if url_port is not None and url_port != DEFAULT_PORTS[scheme]:
        port(url_port, "URL port")
        return f"{scheme}://{shown}:{url_port}"
    return f"{scheme}://{shown}"


def _url_host(value: str, name: str) -> str:
    """A URL's host: an IP address, a hostname in IDNA, or a catch-all name."""
    if name == "*":
        raise ValidationError(
            f"URL {_shown(value)}: nginx takes no server name '*'; "
            "a catch-all is '_' (and needs an admin's --allow-ip-url)"
        )
    if name == "_":
        return name
    prefix = next((p for p in ("*.", ".") if name.startswith(p)), "")  # nginx's wildcards
    name = name[len(prefix) :]
    if not name.isascii():
        try:
            name = idna.encode(name, uts46=True).decode()
        except idna.IDNAError as e:
            raise ValidationError(f"URL {_shown(value)} has a host IDNA refuses: {e}") from None
    return prefix + host(name)


def needs_admin(url: str) -> str:
    """Why a (normalised) public URL needs an admin's explicit consent, or "".
    nginx gives a `listen <IP>:<port>` site every request to that address, whatever
    the Host, and a catch-all or wildcard name every name no other site claims.
    Loopback addresses need none: only the server itself reaches them (the sandbox)."""
    name = urlsplit(url).hostname or ""
    if name == "_" or name.startswith(("*.", ".")):
        return (
            f"{url} is a catch-all name: its site would answer for every name no other "
            f"site claims; use a host name, or {CATCH_ALL_HINT}"
        )
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return ""
    if address.is_loopback:
        return ""
    return (
        f"{url} is an IP address: nginx would send every request to {address} to this app, "
        f"whatever site it asks for (ACME challenges too); use a host name, or {CATCH_ALL_HINT}"
    )


def url_claims(url: str) -> set[tuple[str, int]]:
    """The (server name, port) pairs a (normalised) public URL's nginx site takes:
    an https site also answers port 80 (its redirect)."""
    parts = urlsplit(url)
    name = parts.hostname or ""
    if parts.scheme == "https":
        return {(name, parts.port or 443), (name, 80)}
    return {(name, parts.port or 80)}


def env_key(value: str) -> str:
    if not ENV_KEY.fullmatch(value or ""):
        raise ValidationError(
            f"env key {_shown(value)} must be letters, digits and '_', not starting with a digit"
        )
    return value


def env_value(key: str, value: str) -> str:
    _no_control(value, f"env value of {key}")
    if len(value) > MAX_ENV_VALUE:
        raise ValidationError(f"env value of {key} is longer than {MAX_ENV_VALUE} characters")
    return value


def env_pair(text: str) -> tuple[str, str]:
    """Parse K=V (the CLI's --env)."""
    key, sep, value = (text or "").partition("=")
    if not sep:
        raise ValidationError(f"env {_shown(text)} must be KEY=VALUE")
    return env_key(key), env_value(key, value)


def positive(value: int | str, what: str, low: int = 1, high: int = 10_000) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ValidationError(f"{what} {_shown(value)} is not a number") from None
    if not low <= number <= high:
        raise ValidationError(f"{what} {number} is out of range ({low}-{high})")
    return number


# What the health gate and the scheduled checks ask. /ping is Reflex's liveness answer
# (the process serves events); /_health its readiness answer (the database and Redis
# answer too: 503 when one does not, and 500 when rxconfig.py has a db_url but the
# app's requirements lack reflex[db]).
HEALTH_CHOICES = ("/ping", "/_health")


def health_path(value: str) -> str:
    value = (value or "").strip()
    if not re.fullmatch(r"/[A-Za-z0-9._~/-]{0,200}", value) or ".." in value:
        raise ValidationError(
            f"health path {_shown(value)} must look like /ping: start with / and hold only "
            "letters, digits and . _ ~ / - (no spaces, quotes or query)"
        )
    return value


def health_choice(choice: str, custom: str = "") -> str:
    """The settings form's choice: liveness /ping, readiness /_health, or a custom path."""
    choice = (choice or "").strip()
    if choice in HEALTH_CHOICES:
        return choice
    if choice == "custom":
        return health_path(custom)
    raise ValidationError(f"health check {_shown(choice)} must be /ping, /_health or custom")


def number(value: float | str, what: str, low: float, high: float) -> float:
    try:
        number = float(str(value).strip())
    except ValueError:
        raise ValidationError(f"{what} {_shown(value)} is not a number") from None
    if not low <= number <= high:  # also refuses nan
        raise ValidationError(f"{what} {number:g} is out of range ({low:g}-{high:g})")
    return number


def choice(value: str, what: str, choices: tuple[str, ...]) -> str:
    """One of the given words (case and spaces aside)."""
    text = str(value).strip().lower()
    if text not in choices:
        raise ValidationError(f"{what} {_shown(value)} must be one of: {', '.join(choices)}")
    return text


def flag(value: bool | str, what: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValidationError(f"{what} {_shown(value)} must be yes or no")


# Shared paths live under <app>/shared/ on every server and are linked into each
# release: a path must stay inside both. Spaces and quotes are allowed (the builders
# quote every word); what a shell or a glob would read differently is not.
SHARED_PATH = re.compile(r"^[A-Za-z0-9._ '\"@+=,~-]+(/[A-Za-z0-9._ '\"@+=,~-]+)*/?$")
SHARED_RESERVED = ("home", ".snapshots")  # shared/ entries rxpanel uses itself


def shared_path(value: str) -> str:
    """One relative path inside the release's backend dir; a dir ends with '/'."""
    text = value if isinstance(value, str) else ""
    parts = text.rstrip("/").split("/")
    if (
        not SHARED_PATH.fullmatch(text)
        or any(p in ("", ".", "..") or p.startswith("-") or p != p.strip() for p in parts)
        or parts[0] in SHARED_RESERVED
        or len(text) > 200
    ):
        raise ValidationError(
            f"shared path {_shown(value)} must be a relative path inside the app "
            "(no '..', no leading '/' or '-'), like data.db or uploads/"
        )
    return text


def shared_paths(value: str | None) -> str:
    """The operator's list (comma or space separated), cleaned, one space between."""
    words = (value or "").replace(",", " ").split()
    return " ".join(dict.fromkeys(shared_path(w) for w in words))


SNAPSHOT = re.compile(r"^[0-9]{8}T[0-9]{6}-[a-z0-9]{4,12}-[0-9]{8}T[0-9]{6}Z-[^/]+$")


def snapshot_name(value: str) -> str:
    """A name `rxpanel db snapshots` lists: <release>-<utc>-<file>."""
    text = (value or "").strip()
    if not SNAPSHOT.fullmatch(text):
        raise ValidationError(f"snapshot {_shown(value)} is not a name `db snapshots` lists")
    shared_path(text.split("-", 3)[3].replace("__", "/"))
    return text
