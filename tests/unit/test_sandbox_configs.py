"""The sandbox's pure parts, with no daemon: the three config files as rendered, and the
CONNECT proxy run in this process (and once as the script the sandbox starts)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from rxpanel import sandbox
from rxpanel.sandbox import configs, proxy

DIR = "/tmp/rx-sb"
SESSION_ENV = {"PATH": sandbox.SYSTEM_PATH, "SHLVL": "1", sandbox.MARKER: DIR}


# -- sshd_config ----------------------------------------------------------------------


def sshd(**changes) -> list[str]:
    values = {
        "listen": "127.0.0.1",
        "port": 2222,
        "ssh_dir": f"{DIR}/ssh",
        "user": "rx",
        "session_env": SESSION_ENV,
    } | changes
    return configs.sshd_config(**values).splitlines()


def test_sshd_config_listens_where_told_with_files_under_the_dir():
    lines = sshd()
    assert lines[:5] == [
        "ListenAddress 127.0.0.1",
        "Port 2222",
        f"HostKey {DIR}/ssh/host_ed25519",
        f"PidFile {DIR}/ssh/sshd.pid",
        f"AuthorizedKeysFile {DIR}/ssh/authorized_keys",
    ]


def test_sshd_config_lets_only_the_user_in_by_key():
    lines = sshd()
    for line in (
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",
        "PermitRootLogin prohibit-password",
        "AllowUsers rx",
        "Subsystem sftp internal-sftp",
        "MaxSessions 50",
        "MaxStartups 50:30:100",
    ):
        assert line in lines


def test_sshd_config_session_environment_in_order():
    """The marker lets `down` find what sessions left; SHLVL=1 keeps ~/.bashrc out."""
    assert f"SetEnv PATH={sandbox.SYSTEM_PATH} SHLVL=1 RXPANEL_SANDBOX={DIR}" in sshd()
    with_proxy = sshd(session_env=SESSION_ENV | {"PIP_PROXY": "http://10.251.3.1:3128"})
    assert (
        f"SetEnv PATH={sandbox.SYSTEM_PATH} SHLVL=1 RXPANEL_SANDBOX={DIR} "
        "PIP_PROXY=http://10.251.3.1:3128"
    ) in with_proxy


def test_sshd_config_is_whole_lines():
    text = configs.sshd_config(
        listen="10.251.3.2", port=22, ssh_dir="/d/ssh", user="u", session_env={"A": "1"}
    )
    assert text.endswith("ClientAliveInterval 30\n")
    assert "\n\n" not in text
    assert len(text.splitlines()) == 17


# -- nginx.conf -----------------------------------------------------------------------


def nginx(worker=None) -> str:
    return configs.nginx_conf(
        nginx_dir=f"{DIR}/nginx", listen="127.0.0.1", port=8080, worker=worker
    )


def test_nginx_conf_keeps_everything_under_its_dir():
    lines = nginx().splitlines()
    assert lines[:3] == [
        "daemon on;",
        f"pid {DIR}/nginx/nginx.pid;",
        f"error_log {DIR}/nginx/logs/error.log;",
    ]
    assert f"    access_log {DIR}/nginx/logs/access.log;" in lines
    for temp in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        assert f"    {temp}_temp_path {DIR}/nginx/tmp/{temp};" in lines
    assert f"    include {DIR}/nginx/conf.d/*.conf;" in lines  # where deploys put sites


def test_nginx_conf_default_server():
    text = nginx()
    assert (
        "    server {\n"
        "        listen 127.0.0.1:8080 default_server;\n"
        "        server_name _;\n"
        '        location / { return 200 "rxpanel sandbox\\n"; }\n'
        "    }\n"
        "}\n"
    ) in text
    assert text.count("{") == text.count("}")


def test_nginx_conf_worker_user_only_when_given():
    assert "user " not in nginx()
    assert nginx(worker=("rx", "staff")).startswith("user rx staff;\ndaemon on;\n")


# -- supervisord.conf -----------------------------------------------------------------


def test_supervisord_conf():
    text = configs.supervisord_conf(supervisor_dir=f"{DIR}/supervisor")
    lines = text.splitlines()
    for section, body in {
        "[unix_http_server]": [f"file={DIR}/supervisor/supervisor.sock"],
        "[supervisord]": [
            f"logfile={DIR}/supervisor/supervisord.log",
            f"pidfile={DIR}/supervisor/supervisord.pid",
            f"childlogdir={DIR}/supervisor/logs",
            "nodaemon=false",
        ],
        "[rpcinterface:supervisor]": [
            "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface"
        ],
        "[supervisorctl]": [f"serverurl=unix://{DIR}/supervisor/supervisor.sock"],
        "[include]": [f"files = {DIR}/supervisor/conf.d/*.conf"],
    }.items():
        at = lines.index(section)
        assert lines[at + 1 : at + 1 + len(body)] == body, section


# -- the paths that go in unquoted --------------------------------------------------------


@pytest.mark.parametrize("bad", ["/tmp/my box", "/tmp/a;b", "/tmp/'q'", "/tmp/$(x)"])
def test_a_dir_that_would_need_quoting_is_refused(bad):
    """The configs put paths in as they are: a path with a space or a shell character never
    reaches them, `load` and `up` refuse it first."""
    with pytest.raises(sandbox.SandboxError):
        sandbox.load(bad)


def test_the_sandbox_writes_what_configs_render(tmp_path):
    """The files `up` writes are the rendered ones, with this sandbox's values."""
    d = tmp_path / "box"
    d.mkdir()
    sb = sandbox.Sandbox(d, 2222, 8080, sandbox.model.current_user())
    sandbox._write_configs(sb)
    # the key rxpanel is given (sb.key_path) is the one sshd lets in
    assert (d / "ssh/authorized_keys").read_text() == Path(f"{sb.key_path}.pub").read_text()
    assert (d / "ssh/sshd_config").read_text() == configs.sshd_config(
        listen="127.0.0.1",
        port=2222,
        ssh_dir=str(d / "ssh"),
        user=sb.user,
        session_env={"PATH": sandbox.SYSTEM_PATH, "SHLVL": "1", sandbox.MARKER: str(d)},
    )
    text = (d / "nginx/nginx.conf").read_text()
    assert "listen 127.0.0.1:8080 default_server;" in text
    assert (os.geteuid() == 0) == text.startswith(f"user {sb.user} ")
    assert (d / "supervisor/supervisord.conf").read_text() == configs.supervisord_conf(
        supervisor_dir=str(d / "supervisor")
    )
    assert not (d / "netns").exists()  # the proxy is for a namespace only


def test_a_namespace_sandbox_gets_the_proxy_and_its_way_out(tmp_path):
    d = tmp_path / "box"
    d.mkdir()
    sb = sandbox.Sandbox(d, 22, 80, sandbox.model.current_user(), "rxp-0123abcd", 7)
    sandbox._write_configs(sb)
    assert (d / "netns/proxy.py").read_text() == Path(proxy.__file__).read_text()
    sshd_config = (d / "ssh/sshd_config").read_text().splitlines()
    assert sshd_config[:2] == ["ListenAddress 10.251.7.2", "Port 22"]
    assert sshd_config[12].endswith(" PIP_PROXY=http://10.251.7.1:3128")


# -- the CONNECT proxy ------------------------------------------------------------------


class Loopback:
    """proxy.serve on 127.0.0.1, in a thread with its own event loop; leaving stops it, and
    asyncio.run ends the connections still open."""

    def __init__(self) -> None:
        self.sock = proxy.listen("127.0.0.1", 0)
        self.port = self.sock.getsockname()[1]
        self.ready = threading.Event()
        self.thread = threading.Thread(target=asyncio.run, args=(self._run(),), daemon=True)

    async def _run(self) -> None:
        self.loop, self.stop = asyncio.get_running_loop(), asyncio.Event()
        serving = asyncio.create_task(proxy.serve(self.sock))
        self.ready.set()
        await self.stop.wait()
        serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)

    def __enter__(self) -> Loopback:
        self.thread.start()
        assert self.ready.wait(5)
        return self

    def __exit__(self, *exc) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(5)
        assert not self.thread.is_alive()


GREETING = b"hello from upstream\n"


@pytest.fixture
def echo():
    """An upstream that greets first (bytes flow upstream -> client before the client says
    anything), then sends back whatever it gets; it closes when its client is done."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.sendall(GREETING)
                while data := conn.recv(65536):
                    conn.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


def read_exactly(conn: socket.socket, n: int) -> bytes:
    """n bytes (fewer only if the other end closes first): recv may return more than one
    message's worth, so the tests say how much they expect."""
    got = b""
    while len(got) < n and (chunk := conn.recv(n - len(got))):
        got += chunk
    return got


def read_all(conn: socket.socket) -> bytes:
    got = b""
    while chunk := conn.recv(65536):
        got += chunk
    return got


def connect(port: int, head: bytes) -> socket.socket:
    conn = socket.create_connection(("127.0.0.1", port), timeout=5)
    conn.sendall(head)
    return conn


def test_proxy_connect_passes_bytes_both_ways(echo):
    with Loopback() as p:
        conn = connect(p.port, f"CONNECT 127.0.0.1:{echo} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        with conn:
            assert read_exactly(conn, len(proxy.ESTABLISHED)) == proxy.ESTABLISHED
            assert read_exactly(conn, len(GREETING)) == GREETING
            big = os.urandom(200_000)  # several reads and drains each way
            conn.sendall(big)
            assert read_exactly(conn, len(big)) == big
            conn.shutdown(socket.SHUT_WR)  # our end: the proxy passes it on, upstream closes
            assert read_all(conn) == b""


def test_proxy_refuses_anything_but_connect(echo):
    with Loopback() as p:
        for head in (
            f"GET http://127.0.0.1:{echo}/ HTTP/1.1\r\nHost: x\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
        ):
            with connect(p.port, head.encode()) as conn:
                assert (
                    read_all(conn)
                    == b"HTTP/1.1 405 Method Not Allowed\r\nConnection: close\r\n\r\n"
                )


def test_proxy_answers_502_when_the_target_does_not_answer():
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    with Loopback() as p:
        for target in (f"127.0.0.1:{port}", "127.0.0.1:notaport"):
            with connect(p.port, f"CONNECT {target} HTTP/1.1\r\n\r\n".encode()) as conn:
                assert read_all(conn) == b"HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\n\r\n"


def test_proxy_drops_a_garbled_request():
    with Loopback() as p:
        with connect(p.port, b"nonsense\r\n\r\n") as conn:
            assert read_all(conn) == b""


def test_proxy_as_the_sandbox_runs_it(tmp_path, echo):
    """A copy of the module run by path with the system python3 (stdlib only): it forks once
    it listens, the parent writing the child's pid; SIGTERM stops it."""
    script = tmp_path / "proxy.py"
    script.write_text(Path(proxy.__file__).read_text())
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    pidfile, logfile = tmp_path / "proxy.pid", tmp_path / "proxy.log"
    started = subprocess.run(
        [sandbox.SYSTEM_PYTHON, str(script), "127.0.0.1", str(port), str(pidfile), str(logfile)],
        env={"PATH": sandbox.SYSTEM_PATH},
        capture_output=True,
        timeout=30,
    )
    assert started.returncode == 0, started.stderr
    pid = int(pidfile.read_text())
    try:
        with connect(port, f"CONNECT 127.0.0.1:{echo} HTTP/1.1\r\n\r\n".encode()) as conn:
            assert read_exactly(conn, len(proxy.ESTABLISHED)) == proxy.ESTABLISHED
            assert read_exactly(conn, len(GREETING)) == GREETING
            conn.sendall(b"ping")
            assert read_exactly(conn, 4) == b"ping"
        with connect(port, b"CONNECT 127.0.0.1:1 HTTP/1.1\r\n\r\n") as conn:
            assert read_all(conn).startswith(b"HTTP/1.1 502 ")
        assert "CONNECT 127.0.0.1:1: " in logfile.read_text()  # why, in its log
    finally:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text()
