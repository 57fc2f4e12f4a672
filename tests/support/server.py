"""What a deploy (or a hostile input) could have changed on a sandbox server."""

from __future__ import annotations

from pathlib import Path


def server_snapshot(sandbox) -> tuple[int, list[tuple[str, int]]]:
    """What a hostile input could have changed on the server: SSH logins and files."""
    log = (Path(sandbox.dir) / "ssh" / "sshd.log").read_text()
    files = []
    for base in (sandbox.deploy_root, sandbox.nginx_conf_dir, sandbox.supervisor_conf_dir):
        for path in sorted(Path(base).rglob("*")):
            if "/logs/" not in str(path):
                files.append((str(path), path.lstat().st_mtime_ns))
    return log.count("Accepted publickey"), files
