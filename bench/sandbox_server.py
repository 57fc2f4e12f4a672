"""The local sandbox registered as a server of the panel, for the bench scripts."""

from __future__ import annotations


def register(box, name: str) -> None:
    from rxpanel.services import servers

    servers.add(
        servers.ServerInput(
            name=name,
            host=box.host,  # 127.0.0.1, or its address in a network namespace
            port=box.ssh_port,
            user=box.user,
            deploy_root=box.deploy_root,
            nginx_conf_dir=box.nginx_conf_dir,
            nginx_cmd=box.nginx_cmd,
            supervisor_conf_dir=box.supervisor_conf_dir,
            supervisorctl_cmd=box.supervisorctl_cmd,
        ),
        box.key_path.read_text(),
    )


def workdir(prefix: str):
    """A bench's scratch dir that apps' own Unix users can pass through (mkdtemp makes
    it 0700): the sandbox's deploy root lives below it."""
    import tempfile
    from pathlib import Path

    work = Path(tempfile.mkdtemp(prefix=prefix))
    work.chmod(0o711)
    return work
