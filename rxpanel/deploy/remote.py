"""The only module that talks SSH (through Fabric): run, put, timeouts, redaction,
host keys. Commands arrive as ready strings from deploy/commands."""

from __future__ import annotations

import base64
import io
import socket
import stat
from collections.abc import Callable
from dataclasses import dataclass, field

import paramiko
from fabric import Config, Connection
from invoke.exceptions import CommandTimedOut

from rxpanel.secrets import redact
from rxpanel.sshkeys import fingerprint, key_string, load_private_key

__all__ = ["fingerprint", "key_string", "load_private_key"]  # re-exported for old callers

CONNECT_TIMEOUT = 15


class RemoteError(RuntimeError):
    """A failure talking to the server, in plain words."""


class HostKeyChanged(RemoteError):
    pass


class CommandFailed(RemoteError):
    def __init__(self, label: str, exit_code: int, output: str):
        self.label, self.exit_code, self.output = label, exit_code, output
        tail = " | ".join(line for line in output.strip().splitlines()[-3:] if line.strip())
        super().__init__(f"{label} failed (exit {exit_code}){': ' + tail if tail else ''}")


class _TrustOnFirstUse(paramiko.MissingHostKeyPolicy):
    """Called only when no key is recorded: accept, and remember it for the caller."""

    def __init__(self) -> None:
        self.seen: str | None = None

    def missing_host_key(self, client, hostname, key):
        self.seen = key_string(key)


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


class _LineStream(io.TextIOBase):
    """A writable stream that hands complete, redacted lines to a callback."""

    def __init__(self, on_line: Callable[[str], None], secrets: list[str]):
        self.on_line, self.secrets, self.buf = on_line, secrets, ""

    def write(self, text: str) -> int:
        self.buf += text
        while "\n" in self.buf:
            line, self.buf = self.buf.split("\n", 1)
            self.on_line(redact(line.rstrip("\r"), self.secrets))
        return len(text)

    def flush(self) -> None:
        if self.buf:
            self.on_line(redact(self.buf, self.secrets))
            self.buf = ""


@dataclass
class Remote:
    host: str
    port: int
    user: str
    private_key: str
    host_key: str | None
    on_new_host_key: Callable[[str], None] | None = None
    secrets: list[str] = field(default_factory=list)
    _conn: Connection | None = None

    def __enter__(self) -> Remote:
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def open(self) -> None:
        pkey = load_private_key(self.private_key)
        conn = Connection(
            self.host,
            user=self.user,
            port=self.port,
            config=Config(overrides={"load_ssh_configs": False}),
            connect_timeout=CONNECT_TIMEOUT,
            connect_kwargs={
                "pkey": pkey,
                "look_for_keys": False,
                "allow_agent": False,
                "banner_timeout": CONNECT_TIMEOUT,
                "auth_timeout": CONNECT_TIMEOUT,
            },
        )
        policy = _TrustOnFirstUse()
        conn.client.set_missing_host_key_policy(policy)
        if self.host_key:
            name = self.host if self.port == 22 else f"[{self.host}]:{self.port}"
            kind, blob = self.host_key.split()[:2]
            conn.client.get_host_keys().add(
                name, kind, paramiko.PKey.from_type_string(kind, base64.b64decode(blob))
            )
        try:
            conn.open()
        except paramiko.BadHostKeyException as e:
            raise HostKeyChanged(
                f"the host key of {self.host}:{self.port} changed (now {fingerprint(key_string(e.key))}, "
                f"recorded {fingerprint(self.host_key or '')}); refusing to connect. If the server "
                "was really reinstalled, forget the recorded key and check again."
            ) from None
        except paramiko.AuthenticationException:
            raise RemoteError(
                f"SSH login as {self.user}@{self.host}:{self.port} was refused (key not accepted)"
            ) from None
        except (OSError, paramiko.SSHException, EOFError) as e:
            raise RemoteError(
                f"cannot connect to {self.host}:{self.port} over SSH: {_why(e)}"
            ) from None
        conn.transport.set_keepalive(15)
        if policy.seen and self.on_new_host_key:
            self.host_key = policy.seen
            self.on_new_host_key(policy.seen)
        self._conn = conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @property
    def connected(self) -> bool:
        return self._conn is not None and self._conn.is_connected

    @property
    def conn(self) -> Connection:
        if self._conn is None:
            raise RemoteError("not connected")
        return self._conn

    def run(
        self,
        command: str,
        *,
        label: str = "remote command",
        timeout: float | None = 600,
        check: bool = True,
        on_line: Callable[[str], None] | None = None,
    ) -> Result:
        """Run one command line; output lines stream to on_line, redacted."""
        lines: list[str] = []

        def collect(line: str) -> None:
            lines.append(line)
            if on_line:
                on_line(line)

        out, err = _LineStream(collect, self.secrets), _LineStream(collect, self.secrets)
        try:
            r = self.conn.run(
                command,
                hide=False,
                warn=True,
                pty=False,
                in_stream=False,
                out_stream=out,
                err_stream=err,
                timeout=timeout,
            )
        except CommandTimedOut:
            raise RemoteError(f"{label} did not finish within {timeout:g} s") from None
        except (OSError, paramiko.SSHException, EOFError) as e:
            raise RemoteError(
                f"SSH connection to {self.host} lost during {label}: {_why(e)}"
            ) from None
        out.flush(), err.flush()
        result = Result(r.exited, redact(r.stdout, self.secrets), redact(r.stderr, self.secrets))
        if result.exit_code == -1 or not self.conn.is_connected:
            raise RemoteError(f"SSH connection to {self.host} lost during {label}")
        if check and not result.ok:
            raise CommandFailed(label, result.exit_code, "\n".join(lines))
        return result

    def put_bytes(
        self, data: bytes, path: str, mode: int = 0o644, *, label: str = "upload"
    ) -> None:
        """Write a file; the mode is set before any byte is written (for secrets)."""
        try:
            sftp = self.conn.sftp()
            with sftp.open(path, "wb") as f:
                f.chmod(mode)
                f.set_pipelined(True)
                f.write(data)
        except (OSError, paramiko.SSHException, EOFError) as e:
            raise RemoteError(f"{label} to {self.host}:{path} failed: {_why(e)}") from None

    def put_file(
        self,
        local: str,
        path: str,
        *,
        label: str = "upload",
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        try:
            self.conn.sftp().put(local, path, callback=progress)
        except (OSError, paramiko.SSHException, EOFError) as e:
            raise RemoteError(f"{label} to {self.host}:{path} failed: {_why(e)}") from None

    def read_text(self, path: str) -> str | None:
        try:
            with self.conn.sftp().open(path, "r") as f:
                return f.read().decode()
        except FileNotFoundError:
            return None
        except (OSError, paramiko.SSHException, EOFError) as e:
            raise RemoteError(f"reading {self.host}:{path} failed: {_why(e)}") from None

    def is_dir(self, path: str) -> bool:
        try:
            return stat.S_ISDIR(self.conn.sftp().stat(path).st_mode)
        except FileNotFoundError:
            return False


def _why(e: BaseException) -> str:
    if isinstance(e, socket.timeout):
        return "timed out"
    if isinstance(e, ConnectionRefusedError):
        return "connection refused"
    return str(e) or e.__class__.__name__
