"""The sandbox against the real Debian sshd, nginx and supervisord: no mocks."""

from __future__ import annotations

import getpass
import http.client
import json
import os
import pwd
import re
import shlex
import socket
import subprocess
import time
from pathlib import Path

import pytest

from rxpanel import sandbox
from rxpanel.sandbox import SandboxError

pytestmark = pytest.mark.integration

# `make test` installs openssh-server, nginx and supervisor: a missing one is a
# broken setup, so these tests fail (not skip) without them.


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
        f"{sb.user}@{sb.host}",
        command,
    ]
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout)


def http_get(port: int, host: str = "127.0.0.1", path: str = "/") -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(host, port, timeout=3)
    try:
        conn.request("GET", path)
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
    if sb.netns:
        files["proxy"] = "netns/proxy.pid"
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
    assert (sb.netns, sb.host) == (None, "127.0.0.1")


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


# --- a sandbox that is its own host: its own network namespace -----------------------------

SITE_PORT, APP_PORT = 18080, 9999  # the same in every namespace
ALL_UP = {"sshd": True, "nginx": True, "supervisord": True, "proxy": True}
ALL_DOWN = {"sshd": False, "nginx": False, "supervisord": False, "proxy": False}


def netns_list() -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    return [line.split()[0] for line in out.stdout.splitlines() if line.strip()]


def netns_inode(name: str) -> int:
    return os.stat(f"/run/netns/{name}").st_ino


def net_of(pid: int | str) -> int:
    return os.stat(f"/proc/{pid}/ns/net").st_ino


def host_link(name: str) -> bool:
    return Path("/sys/class/net", name).exists()


def cleanup(dirs: list[Path]) -> None:
    """Stop every sandbox and remove its namespace, whatever state a failed test left."""
    errors = []
    for d in dirs:
        name = sandbox._netns_name(d)
        try:
            if (d / "sandbox.json").exists():
                sandbox.down(d)
        except Exception as e:  # noqa: BLE001 - report it, and go on cleaning
            errors.append(f"down {d}: {e}")
        if name in netns_list():
            subprocess.run(["ip", "netns", "del", name], check=False)
            errors.append(f"namespace {name} was left behind")
        if host_link(name):
            subprocess.run(["ip", "link", "del", name], check=False)
            errors.append(f"interface {name} was left behind")
    assert not errors, errors


@pytest.fixture
def dirs():
    made: list[Path] = []
    try:
        yield made
    finally:
        cleanup(made)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    made = [tmp_path_factory.mktemp(f"netns-{i}") for i in range(2)]
    try:
        yield [sandbox.up(d, netns=True) for d in made]
    finally:
        cleanup(made)


def test_netns_sandboxes_are_separate_hosts(pair):
    a, b = pair
    assert a.netns != b.netns and a.subnet != b.subnet and a.host != b.host
    names = netns_list()
    for sb, other in ((a, b), (b, a)):
        assert re.fullmatch(r"rxp-[0-9a-f]{8}", sb.netns) and sb.netns in names
        assert sb.netns == sandbox._netns_name(sb.dir)
        assert sb.host == f"10.251.{sb.subnet}.2" and sb.host_side == f"10.251.{sb.subnet}.1"
        assert (sb.ssh_port, sb.http_port) == (22, 80)
        assert json.loads((sb.dir / "sandbox.json").read_text()) == {
            "ssh_port": 22,
            "http_port": 80,
            "user": sb.user,
            "netns": True,
            "netns_name": sb.netns,
            "subnet": sb.subnet,
            "address": sb.host,
            "host_address": sb.host_side,
        }
        assert sandbox.load(sb.dir) == sb
        assert sandbox.is_running(sb) == ALL_UP
        ns = netns_inode(sb.netns)
        assert ns != net_of("self")
        pids = daemon_pids(sb)
        for part in ("sshd", "nginx", "supervisord"):
            assert net_of(pids[part]) == ns, f"{part} runs outside {sb.netns}"
        assert net_of(pids["proxy"]) == net_of("self")  # the way out runs on the host
        assert host_link(sb.netns)  # the veth's host end

        args = sb.server_add_args("box")
        assert args[args.index("--host") + 1] == sb.host
        assert args[args.index("--port") + 1] == "22"
        assert f"--host {sb.host} --port 22 " in sb.server_add_line("box")

        assert http_get(80, sb.host) == (200, b"rxpanel sandbox\n")
        out = ssh(sb, "readlink /proc/self/ns/net; ip -4 -o addr show; command -v python3")
        assert out.returncode == 0, out.stderr
        assert out.stdout.splitlines()[0] == f"net:[{ns}]"  # the session is in the namespace
        assert f"inet {sb.host}/30" in out.stdout and f"inet {other.host}/" not in out.stdout
        assert out.stdout.splitlines()[-1] == "/usr/bin/python3"
        out = ssh(sb, f"{sb.nginx_cmd} -t && {sb.supervisorctl_cmd} pid")
        assert out.returncode == 0, out.stdout + out.stderr
        assert int(out.stdout) == daemon_pids(sb)["supervisord"]
        # no route out of the namespace (the host does not forward); pip gets the proxy
        out = ssh(sb, "ip -4 route; echo PIP_PROXY=$PIP_PROXY")
        assert out.stdout.split("\n", 1)[0].startswith(f"10.251.{sb.subnet}.0/30 dev eth0")
        assert out.stdout.splitlines()[1:] == [f"PIP_PROXY=http://{sb.host_side}:3128"]
        assert sb.proxy_url == f"http://{sb.host_side}:3128"


# From inside one namespace, through its proxy, to the other's nginx: proof of a way out.
VIA_PROXY = """\
import os, socket, sys
proxy = os.environ["PIP_PROXY"].removeprefix("http://").split(":")
s = socket.create_connection((proxy[0], int(proxy[1])), timeout=5)
s.sendall(f"CONNECT {sys.argv[1]} HTTP/1.1\\r\\nHost: {sys.argv[1]}\\r\\n\\r\\n".encode())
f = s.makefile("rb")
print(f.readline().decode().strip())
while f.readline().strip():
    pass
s.sendall(b"GET / HTTP/1.0\\r\\n\\r\\n")
print(f.read().decode().split("\\r\\n\\r\\n", 1)[1], end="")
"""


def test_netns_proxy_is_the_way_out(pair):
    a, b = pair
    out = ssh(a, f"python3 - {b.host}:80", stdin=VIA_PROXY)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "HTTP/1.1 200 Connection established\nrxpanel sandbox\n"
    out = ssh(a, f"python3 -c 'import socket; socket.create_connection((\"{b.host}\", 80), 3)'")
    assert out.returncode != 0 and "unreachable" in out.stderr  # only through the proxy
    out = ssh(a, "python3 - nowhere.invalid:443", stdin=VIA_PROXY)
    assert out.stdout.startswith("HTTP/1.1 502 "), out.stdout + out.stderr


def test_netns_same_ports_in_each(pair):
    """An nginx site on :18080 proxying to a program on 127.0.0.1:9999, in both at once."""
    try:
        for sb in pair:
            www = Path(sb.deploy_root, "www")
            www.mkdir(exist_ok=True)
            (www / "id.txt").write_text(f"app {sb.netns}\n")
            program = (
                f"[program:t-app]\ncommand=python3 -m http.server {APP_PORT} --bind 127.0.0.1"
                f" --directory {www}\nautostart=true\nstartsecs=0\n"
            )
            site = (
                f"server {{ listen {SITE_PORT};\n"
                f'  location = / {{ return 200 "site {sb.netns}\\n"; }}\n'
                f"  location /app/ {{ proxy_pass http://127.0.0.1:{APP_PORT}/; }}\n}}\n"
            )
            ctl = sb.supervisorctl_cmd
            conf = Path(sb.supervisor_conf_dir) / "t-app.conf"
            out = ssh(sb, f"cat > {conf} && {ctl} reread && {ctl} update", stdin=program)
            assert out.returncode == 0, out.stdout + out.stderr
            out = ssh(sb, f"cat > {sb.nginx_conf_dir}/t-site.conf", stdin=site)
            assert out.returncode == 0, out.stderr
            out = ssh(sb, f"{sb.nginx_cmd} -t && {sb.nginx_cmd} -s reload")
            assert out.returncode == 0, out.stderr
        for sb in pair:
            site_body = f"site {sb.netns}\n".encode()
            assert wait_for(lambda sb=sb: listening_at(sb.host, SITE_PORT))
            assert http_get(SITE_PORT, sb.host) == (200, site_body)
            out = wait_for(lambda sb=sb: ssh_ok(sb, FETCH_APP))
            assert out, f"nothing answers on 127.0.0.1:{APP_PORT} in {sb.netns}"
            assert out.stdout == f"app {sb.netns}\n"
            assert http_get(SITE_PORT, sb.host, "/app/id.txt") == (
                200,
                f"app {sb.netns}\n".encode(),
            )
            out = ssh(
                sb, f"{sb.supervisorctl_cmd} status t-app && {sb.supervisorctl_cmd} pid t-app"
            )
            assert out.returncode == 0 and "RUNNING" in out.stdout, out.stdout
            assert net_of(int(out.stdout.split()[-1])) == netns_inode(sb.netns)
    finally:
        for sb in pair:
            ctl = sb.supervisorctl_cmd
            ssh(sb, f"{ctl} stop t-app; rm -f {sb.supervisor_conf_dir}/t-app.conf; {ctl} update")
            ssh(sb, f"rm -f {sb.nginx_conf_dir}/t-site.conf; {sb.nginx_cmd} -s reload")


FETCH_APP = (
    "python3 -c 'import urllib.request as u; print(u.urlopen("
    f'"http://127.0.0.1:{APP_PORT}/id.txt").read().decode(), end="")\''
)


def ssh_ok(sb: sandbox.Sandbox, command: str):
    out = ssh(sb, command)
    return out if out.returncode == 0 else None


def listening_at(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
        return True
    except OSError:
        return False


def test_netns_up_again_is_idempotent(pair):
    sb = pair[0]
    pids = daemon_pids(sb)
    assert sandbox.up(sb.dir) == sb  # keeps the namespace it runs in
    assert sandbox.up(sb.dir, netns=True, ssh_port=22) == sb
    assert daemon_pids(sb) == pids and sandbox.is_running(sb) == ALL_UP
    with pytest.raises(SandboxError, match=f"already runs a sandbox on {sb.host} in network"):
        sandbox.up(sb.dir, netns=False)
    with pytest.raises(SandboxError, match="already runs a sandbox"):
        sandbox.up(sb.dir, ssh_port=2222)
    assert daemon_pids(sb) == pids and sandbox.load(sb.dir) == sb


def test_netns_down_removes_it_and_up_works_again(dirs, tmp_path_factory, capsys):
    from rxpanel.cli import main

    d = tmp_path_factory.mktemp("netns-down")
    dirs.append(d)
    assert main(["sandbox", "up", str(d), "--netns"]) == 0
    box = sandbox.load(d)
    printed = capsys.readouterr().out
    assert f"(network namespace {box.netns}): sshd on {box.host}:22, nginx on {box.host}:80" in (
        printed
    )
    assert f"--host {box.host} --port 22 " in printed
    name, session = box.netns, None
    try:
        assert name in netns_list() and sandbox.is_running(box) == ALL_UP
        pids = list(daemon_pids(box).values())
        out = ssh(
            box,
            "setsid nohup sh -c 'sleep 600' >/dev/null 2>&1 </dev/null & "
            "p=$!; sleep 0.3; echo $p $(pgrep -P $p)",
        )
        assert out.returncode == 0, out.stderr
        timer = [int(p) for p in out.stdout.split()]
        conf = Path(box.supervisor_conf_dir) / "web.conf"
        conf.write_text(
            f"[program:web]\ncommand=python3 -m http.server {APP_PORT} "
            "--bind 127.0.0.1\nstartsecs=0\n"
        )
        out = ssh(box, f"{box.supervisorctl_cmd} update && {box.supervisorctl_cmd} pid web")
        assert out.returncode == 0, out.stderr
        pids.append(int(out.stdout.split()[-1]))
        session = subprocess.Popen(
            ["ssh", "-i", str(box.key_path), "-p", "22", "-o", "BatchMode=yes"]
            + ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
            + ["-o", "LogLevel=ERROR", f"{box.user}@{box.host}", "sleep 700"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.5)  # let the session's remote sleep start
        ns = netns_inode(name)
        assert all(alive(p) for p in pids + timer)
        proxy = daemon_pids(box)["proxy"]  # on the host; everything else inside
        assert [p for p in pids + timer if net_of(p) != ns] == [proxy]

        assert main(["sandbox", "down", str(d)]) == 0

        assert name not in netns_list()
        assert not host_link(name)  # the veth went with it
        assert sandbox.is_running(box) == ALL_DOWN
        assert [p for p in pids + timer if alive(p)] == []
        assert session.wait(10) is not None  # the server closed the open session
        assert pgrep(d) == ""
        # (no connect check: this machine's gateway accepts TCP to any address it routes)
        routes = subprocess.run(["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True)
        assert f"inet {box.host_side}/" not in routes.stdout
        sandbox.down(d)  # idempotent with everything already gone
        assert name not in netns_list()

        again = sandbox.up(d)  # sandbox.json says: in a namespace
        assert again == box  # same name, same (still free) address
        assert name in netns_list() and sandbox.is_running(again) == ALL_UP
        out = ssh(again, "readlink /proc/self/ns/net")
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == f"net:[{netns_inode(name)}]"
        assert wait_for(lambda: listening_at(box.host, 22))
        sandbox.down(d)
        assert name not in netns_list() and not host_link(name) and pgrep(d) == ""
    finally:
        if session and session.poll() is None:
            session.kill()


def test_netns_failed_start_removes_the_namespace(dirs, tmp_path):
    d = tmp_path / "box"
    dirs.append(d)
    name = sandbox.up(d, netns=True).netns
    sandbox.down(d)
    (d / "nginx" / "conf.d" / "broken.conf").write_text("server { listen nonsense; }\n")
    with pytest.raises(SandboxError, match=r"nginx failed to start[^$]*nonsense"):
        sandbox.up(d, netns=True)
    box = sandbox.load(d)
    assert box.netns == name
    assert sandbox.is_running(box) == ALL_DOWN
    assert name not in netns_list() and not host_link(name)
    assert pgrep(d) == ""
    (d / "nginx" / "conf.d" / "broken.conf").unlink()
    assert sandbox.is_running(sandbox.up(d)) == ALL_UP  # and it comes up once fixed


def test_netns_leaves_a_foreign_namespace_alone(tmp_path):
    d = tmp_path / "box"
    name = sandbox._netns_name(d)
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        with pytest.raises(SandboxError, match=f"namespace {name} already exists"):
            sandbox.up(d, netns=True)
        assert not d.exists()
        assert name in netns_list()  # not ours: not deleted
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)
    assert name not in netns_list()
