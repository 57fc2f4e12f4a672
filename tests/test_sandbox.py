"""The sandbox against the real Debian sshd, nginx and supervisord: no mocks."""

from __future__ import annotations

import getpass
import http.client
import json
import os
import pwd
import shlex
import socket
import subprocess
import time
from pathlib import Path

import pytest

from rxpanel import sandbox
from rxpanel.sandbox import SandboxError

pytestmark = pytest.mark.integration

for _binary in (sandbox.SSHD, sandbox.NGINX, sandbox.SUPERVISORD, "/usr/bin/ssh"):
    if not os.access(_binary, os.X_OK):
        pytestmark = [pytestmark, pytest.mark.skip(reason=f"{_binary} is not installed")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ssh(sb: sandbox.Sandbox, command: str, stdin: str | None = None, timeout: float = 30):
    argv = [
        "ssh",
        "-i",
        str(sb.key_path),
        "-p",
        str(sb.ssh_port),
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "LogLevel=ERROR",
        f"{sb.user}@127.0.0.1",
        command,
    ]
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout)


def http_get(port: int) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
    try:
        conn.request("GET", "/")
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def alive(pid: int) -> bool:
    """Zombies count as gone: pid 1 in some containers never reaps orphans."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in "ZX"


def wait_for(check, timeout: float = 10):
    deadline = time.monotonic() + timeout
    while not (result := check()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return result


def daemon_pids(sb: sandbox.Sandbox) -> dict[str, int]:
    files = {
        "sshd": "ssh/sshd.pid",
        "nginx": "nginx/nginx.pid",
        "supervisord": "supervisor/supervisord.pid",
    }
    return {part: int((sb.dir / f).read_text()) for part, f in files.items()}


def pgrep(path: Path) -> str:
    out = subprocess.run(["pgrep", "-a", "-f", f"{path}/"], capture_output=True, text=True)
    return out.stdout.strip()


@pytest.fixture(scope="module")
def sb(tmp_path_factory):
    d = tmp_path_factory.mktemp("sandbox")
    # venv variables must not reach the daemons (checked in test_supervisor_program)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VIRTUAL_ENV", "/nonexistent/venv")
        mp.setenv("PYTHONPATH", "/nonexistent/lib")
        started = time.monotonic()
        try:
            box = sandbox.up(d)
            box.up_seconds = time.monotonic() - started
            yield box
        finally:
            sandbox.down(d)


def test_up_starts_all_parts(sb):
    assert sb.dir.is_absolute()
    assert sandbox.is_running(sb) == {"sshd": True, "nginx": True, "supervisord": True}
    assert sb.up_seconds < 5, f"up took {sb.up_seconds:.1f}s"
    assert sb.user == pwd.getpwuid(os.geteuid()).pw_name == getpass.getuser()
    assert sb.ssh_port != sb.http_port
    assert http_get(sb.http_port) == (200, b"rxpanel sandbox\n")
    with socket.create_connection(("127.0.0.1", sb.ssh_port), timeout=3) as s:
        assert s.recv(64).startswith(b"SSH-2.0-OpenSSH")
    assert sb.key_path.stat().st_mode & 0o777 == 0o600
    assert json.loads((sb.dir / "sandbox.json").read_text()) == {
        "ssh_port": sb.ssh_port,
        "http_port": sb.http_port,
        "user": sb.user,
    }
    assert sandbox.load(sb.dir) == sb
    for path in (sb.deploy_root, sb.nginx_conf_dir, sb.supervisor_conf_dir):
        assert Path(path).is_dir() and path.startswith(f"{sb.dir}/")


def test_server_add_args(sb):
    args = sb.server_add_args("box")
    assert args[:3] == ["server", "add", "box"]
    rest = [a for a in args[3:] if a != "--no-sudo"]  # the one flag without a value
    assert len(rest) == len(args) - 4
    opts = dict(zip(rest[::2], rest[1::2], strict=True))
    assert opts["--port"] == str(sb.ssh_port) and opts["--host"] == "127.0.0.1"
    assert opts["--key"] == str(sb.key_path) and opts["--user"] == sb.user
    assert opts["--nginx-cmd"] == f"/usr/sbin/nginx -c {sb.dir}/nginx/nginx.conf -p {sb.dir}/nginx/"
    assert opts["--supervisorctl-cmd"] == sb.supervisorctl_cmd
    assert shlex.split(sb.server_add_line("box")) == ["rxpanel", *args]


def test_ssh_finds_system_python(sb):
    out = ssh(sb, 'python3 -c "import sys,venv; print(sys.executable)"')
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "/usr/bin/python3"


def test_tools_work_over_ssh(sb):
    out = ssh(sb, f"{sb.nginx_cmd} -t")
    assert out.returncode == 0, out.stderr
    assert "test is successful" in out.stderr
    out = ssh(sb, f"{sb.supervisorctl_cmd} pid")
    assert out.returncode == 0, out.stdout + out.stderr
    assert int(out.stdout) == daemon_pids(sb)["supervisord"]


def test_nginx_site_and_reload(sb):
    site_port = free_port()
    conf = Path(sb.nginx_conf_dir) / "t-site.conf"
    site = f'server {{ listen 127.0.0.1:{site_port}; location / {{ return 200 "site ok\\n"; }} }}\n'
    try:
        out = ssh(sb, f"cat > {conf}", stdin=site)
        assert out.returncode == 0, out.stderr
        assert not listening(site_port)  # not served before the reload
        out = ssh(sb, f"{sb.nginx_cmd} -t && {sb.nginx_cmd} -s reload")
        assert out.returncode == 0, out.stderr
        assert wait_for(lambda: listening(site_port))
        assert http_get(site_port) == (200, b"site ok\n")
    finally:
        conf.unlink(missing_ok=True)
        ssh(sb, f"{sb.nginx_cmd} -s reload")


def test_supervisor_program(sb):
    web_port = free_port()
    conf = Path(sb.supervisor_conf_dir) / "t-web.conf"
    program = (
        f"[program:t-web]\ncommand=python3 -m http.server {web_port} --bind 127.0.0.1\n"
        f"directory={sb.deploy_root}\nautostart=true\nstartsecs=0\n"
    )
    ctl = sb.supervisorctl_cmd
    try:
        out = ssh(sb, f"cat > {conf} && {ctl} reread && {ctl} update", stdin=program)
        assert out.returncode == 0, out.stdout + out.stderr
        assert wait_for(lambda: listening(web_port))
        assert http_get(web_port)[0] == 200
        out = ssh(sb, f"{ctl} status t-web && {ctl} pid t-web")
        assert out.returncode == 0 and "RUNNING" in out.stdout, out.stdout
        pid = int(out.stdout.split()[-1])
        assert os.path.realpath(f"/proc/{pid}/exe").startswith("/usr/bin/python3")
        env = dict(
            line.split("=", 1)
            for line in Path(f"/proc/{pid}/environ").read_text().split("\0")
            if "=" in line
        )
        assert "VIRTUAL_ENV" not in env and "PYTHONPATH" not in env
        assert env["PATH"] == sandbox.SYSTEM_PATH
    finally:
        ssh(sb, f"{ctl} stop t-web; rm -f {conf}; {ctl} update")


def test_up_again_is_idempotent(sb):
    pids = daemon_pids(sb)
    again = sandbox.up(sb.dir)
    assert again == sb
    assert daemon_pids(sb) == pids  # nothing was restarted
    again = sandbox.up(str(sb.dir), ssh_port=sb.ssh_port, http_port=sb.http_port)
    assert again == sb
    with pytest.raises(SandboxError, match="already runs a sandbox"):
        sandbox.up(sb.dir, ssh_port=free_port())


def test_up_restarts_a_missing_part(sb):
    pids = daemon_pids(sb)
    os.kill(pids["nginx"], 15)
    assert wait_for(lambda: not alive(pids["nginx"]))
    assert sandbox.is_running(sb)["nginx"] is False
    assert sandbox.up(sb.dir) == sb
    now = daemon_pids(sb)
    assert now["nginx"] != pids["nginx"] and alive(now["nginx"])
    assert now["sshd"] == pids["sshd"] and now["supervisord"] == pids["supervisord"]
    assert http_get(sb.http_port)[0] == 200


def test_down_stops_everything(tmp_path_factory):
    d = tmp_path_factory.mktemp("sandbox-down")
    ssh_port, http_port = free_port(), free_port()
    box = sandbox.up(d, ssh_port=ssh_port, http_port=http_port)
    session = None
    try:
        assert (box.ssh_port, box.http_port) == (ssh_port, http_port)
        pids = list(daemon_pids(box).values())
        out = ssh(
            box,
            "setsid nohup sh -c 'sleep 600' >/dev/null 2>&1 </dev/null & "
            "p=$!; sleep 0.3; echo $p $(pgrep -P $p)",
        )
        assert out.returncode == 0, out.stderr
        timer = [int(p) for p in out.stdout.split()]
        web_port = free_port()
        conf = Path(box.supervisor_conf_dir) / "web.conf"
        conf.write_text(
            f"[program:web]\ncommand=python3 -m http.server {web_port} "
            "--bind 127.0.0.1\nstartsecs=0\n"
        )
        out = ssh(box, f"{box.supervisorctl_cmd} update && {box.supervisorctl_cmd} pid web")
        assert out.returncode == 0, out.stderr
        pids.append(int(out.stdout.split()[-1]))
        session = subprocess.Popen(
            [
                "ssh",
                "-i",
                str(box.key_path),
                "-p",
                str(ssh_port),
                "-o",
                "BatchMode=yes",
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "LogLevel=ERROR",
                f"{box.user}@127.0.0.1",
                "sleep 700",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert wait_for(lambda: listening(web_port))
        time.sleep(0.5)  # let the session's remote sleep start
        assert all(alive(p) for p in pids + timer)

        sandbox.down(d)

        assert sandbox.is_running(box) == {"sshd": False, "nginx": False, "supervisord": False}
        for p in (ssh_port, http_port, web_port):
            assert not listening(p), f"port {p} still open"
        assert [p for p in pids + timer if alive(p)] == []
        assert session.wait(10) is not None  # the server closed the open session
        assert pgrep(d) == ""
        sandbox.down(d)  # idempotent with everything already stopped
        assert (d / "sandbox.json").exists()  # files are left in place
    finally:
        if session and session.poll() is None:
            session.kill()
        sandbox.down(d)


@pytest.mark.parametrize("bad", ["relative/dir", "/tmp/a;b", "/tmp/a b", "/", "/tmp/../etc"])
def test_bad_dir_is_refused_before_anything_is_created(bad, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SandboxError):
        sandbox.up(bad)
    assert not Path(bad).exists() or bad in ("/", "/tmp/../etc")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(SandboxError):
        sandbox.down(bad)


def test_not_a_sandbox(tmp_path):
    with pytest.raises(SandboxError, match="not an rxpanel sandbox"):
        sandbox.load(tmp_path)
    with pytest.raises(SandboxError, match="not an rxpanel sandbox"):
        sandbox.down(tmp_path)
    (tmp_path / "precious.txt").write_text("keep")
    with pytest.raises(SandboxError, match="not an empty directory"):
        sandbox.up(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["precious.txt"]


def test_busy_port_is_refused(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        with pytest.raises(SandboxError, match=f"port {taken} .* already in use"):
            sandbox.up(tmp_path / "box", http_port=taken)
    assert pgrep(tmp_path) == ""


def test_failed_start_reports_the_log_and_leaves_nothing_running(tmp_path):
    d = tmp_path / "box"
    try:
        sandbox.up(d)
        sandbox.down(d)
        (d / "nginx" / "conf.d" / "broken.conf").write_text("server { listen nonsense; }\n")
        with pytest.raises(SandboxError, match=r"nginx failed to start[^$]*nonsense"):
            sandbox.up(d)
        box = sandbox.load(d)
        assert sandbox.is_running(box) == {"sshd": False, "nginx": False, "supervisord": False}
        assert pgrep(d) == ""
    finally:
        sandbox.down(d)
