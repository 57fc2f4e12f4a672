"""The build's jail: an app's dependency install and `reflex export` run its code
(setup scripts, rxconfig.py, every module of the app), so they run under
bubblewrap, where the panel's home, database, keys, environment and the other
apps' workspaces do not exist.

Inside: the system (/usr and the few /etc files programs need) and the Python
that builds, read-only; writable only what this one step must write (the app's
workspace, the build venv being made or the build's output dir, the package
caches); a fresh /tmp, /proc and /dev; its own user, pid, ipc and uts
namespaces, network kept (package installs need it). The process tree dies with
bwrap, which dies with the panel; `local.run` kills it at the timeout.

`argv` is pure: what to run, as data."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from rxpanel.deploy.local import clean_env

BWRAP = "/usr/bin/bwrap"
NOBODY = 65534  # the build's uid and gid inside its user namespace
# What programs need from /etc (not all of it: /etc/shadow and friends stay out).
ETC = (
    "resolv.conf",
    "hosts",
    "host.conf",
    "gai.conf",
    "nsswitch.conf",
    "ssl",
    "ca-certificates",
    "ca-certificates.conf",
    "alternatives",
    "localtime",
    "mime.types",
    "npmrc",
    "gitconfig",
)
# Merged /usr (Debian 12+): these are symlinks into /usr.
USR_LINKS = ("bin", "sbin", "lib", "lib64")
PASS_ENV = {
    "PATH", "LANG", "LANGUAGE", "TZ", "TERM",
    "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
    "http_proxy", "https_proxy", "no_proxy",
}  # fmt: skip
PASS_PREFIXES = ("LC_", "PIP_", "UV_", "npm_config_", "NPM_CONFIG_")
# The panel's own names never reach a build, whatever the caller passes.
DROP_ENV = ("SSH_AUTH_SOCK", "SSH_AGENT_PID", "XDG_RUNTIME_DIR", "DBUS_SESSION_BUS_ADDRESS")


@dataclass(frozen=True)
class Jail:
    """What one jailed program may see: read-only and writable host paths."""

    home: Path  # HOME inside (the app's build home: Reflex's, npm's and bun's dirs)
    writable: tuple[Path, ...] = ()
    readonly: tuple[Path, ...] = field(default_factory=tuple)
    # (host file, path inside) bound read-only elsewhere: git's ssh needs an
    # /etc/passwd that knows the build's uid (gitaccess.py writes one)
    files: tuple[tuple[Path, str], ...] = ()

    def argv(self, command: list[str], cwd: Path) -> list[str]:
        out = [
            BWRAP,
            "--unshare-all",
            "--share-net",
            "--die-with-parent",
            "--new-session",
            "--uid", str(NOBODY),
            "--gid", str(NOBODY),
            "--ro-bind", "/usr", "/usr",
        ]  # fmt: skip
        for name in USR_LINKS:
            if os.path.islink(f"/{name}"):
                out += ["--symlink", os.readlink(f"/{name}"), f"/{name}"]
            elif os.path.isdir(f"/{name}"):
                out += ["--ro-bind", f"/{name}", f"/{name}"]
        for name in ETC:
            out += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
        for path, inside in self.files:
            out += ["--ro-bind", str(path), inside]
        out += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
        for path in (*python_paths(), *self.readonly):
            out += ["--ro-bind", str(path), str(path)]
        for path in (self.home, *self.writable):
            out += ["--bind", str(path), str(path)]
        # the root (a tmpfs holding the mount points) read-only: nothing written
        # outside the writable binds, even where it would vanish with the jail
        out += ["--remount-ro", "/", "--chdir", str(cwd), "--", *command]
        return out

    def env(self, env: dict[str, str]) -> dict[str, str]:
        clean = {k: v for k, v in env.items() if k not in DROP_ENV}
        return clean | {"HOME": str(self.home), "TMPDIR": "/tmp", "USER": "build"}

    def prepare(self) -> None:
        for path in (self.home, *self.writable):
            path.mkdir(parents=True, exist_ok=True)


def python_paths() -> tuple[Path, ...]:
    """The interpreter build venvs are made from (its whole prefix), and uv."""
    from uv import find_uv_bin

    paths = {Path(sys.base_prefix).resolve(), Path(find_uv_bin()).resolve()}
    return tuple(sorted(paths))


def python() -> str:
    """The interpreter build venvs are made from: the base one (the panel's venv is
    not in the jail), inside python_paths()."""
    return str(Path(sys.executable).resolve())


def available() -> bool:
    return os.access(BWRAP, os.X_OK)


def mode() -> str:
    """'bwrap' unless RXPANEL_BUILD_JAIL=off; 'missing' when bubblewrap is not installed."""
    if os.environ.get("RXPANEL_BUILD_JAIL", "").lower() in ("off", "0", "no"):
        return "off"
    return "bwrap" if available() else "missing"


def caches(root: Path) -> dict[str, str]:
    """Package caches shared by builds (never the panel's own ~/.cache)."""
    uv, npm = root / "uv", root / "npm"
    for path in (uv, npm):
        path.mkdir(parents=True, exist_ok=True)
    return {"UV_CACHE_DIR": str(uv), "npm_config_cache": str(npm)}


def build_cache() -> Path:
    """Package caches (uv, npm, bun) shared by every build on this host, never the
    panel's own: writable inside the jail."""
    root = os.environ.get("RXPANEL_BUILD_CACHE") or "~/.cache/rxpanel-build"
    return Path(root).expanduser()


def for_build(
    ws: Path, *, writable: tuple[Path, ...] = (), readonly: tuple[Path, ...] = ()
) -> tuple[Jail | None, dict[str, str]]:
    """The jail for one build program of the app whose workspace is ws (None when
    builds are not jailed here), and the environment it runs with."""
    cache = build_cache()
    if mode() != "bwrap":
        return None, {**clean_env(), **caches(cache)}
    box = Jail(home=ws / "home", writable=(cache, *writable), readonly=readonly)
    return box, {**base_env(), **caches(cache)}


def base_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """What of the panel's environment a jailed build gets: locale, certificates,
    proxies and package-index settings; nothing else (no secrets, no tokens)."""
    environ = os.environ if environ is None else environ
    return {k: v for k, v in environ.items() if k in PASS_ENV or k.startswith(PASS_PREFIXES)}


def note() -> str:
    current = mode()
    if current == "missing":
        return "not isolated: install bubblewrap (apt-get install bubblewrap) to jail builds"
    return "not isolated: RXPANEL_BUILD_JAIL=off" if current == "off" else "in a bubblewrap jail"
