"""The three daemons' config files, rendered from values: pure functions, no I/O.

Paths go in unquoted: a sandbox dir is validated to letters, digits and ._/+- (see
model.check_dir), so no path here can hold a space, a quote or a `;`."""

from __future__ import annotations

TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def sshd_config(
    *, listen: str, port: int, ssh_dir: str, user: str, session_env: dict[str, str]
) -> str:
    """sshd on listen:port, its key, pid file and authorized_keys in ssh_dir, only `user`
    may log in (by key); every session gets session_env (sshd's SetEnv)."""
    env = " ".join(f"{key}={value}" for key, value in session_env.items())
    return f"""\
ListenAddress {listen}
Port {port}
HostKey {ssh_dir}/host_ed25519
PidFile {ssh_dir}/sshd.pid
AuthorizedKeysFile {ssh_dir}/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
AllowUsers {user}
Subsystem sftp internal-sftp
SetEnv {env}
PrintMotd no
MaxSessions 50
MaxStartups 50:30:100
ClientAliveInterval 30
"""


def nginx_conf(
    *, nginx_dir: str, listen: str, port: int, worker: tuple[str, str] | None = None
) -> str:
    """nginx with its pid, logs, temp dirs and site files (conf.d/*.conf) under nginx_dir, and
    a default server on listen:port answering "rxpanel sandbox". worker: (user, group) for
    the `user` directive, needed when nginx starts as root (its default, nobody, could not
    read files under the sandbox dir); None leaves it out."""
    user = "" if worker is None else f"user {worker[0]} {worker[1]};\n"
    temps = "".join(f"    {t}_temp_path {nginx_dir}/tmp/{t};\n" for t in TEMP_PATHS)
    return f"""\
{user}daemon on;
pid {nginx_dir}/nginx.pid;
error_log {nginx_dir}/logs/error.log;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    server_names_hash_bucket_size 128;
    access_log {nginx_dir}/logs/access.log;
{temps}    include {nginx_dir}/conf.d/*.conf;
    server {{
        listen {listen}:{port} default_server;
        server_name _;
        location / {{ return 200 "rxpanel sandbox\\n"; }}
    }}
}}
"""


def supervisord_conf(*, supervisor_dir: str) -> str:
    """supervisord with its socket, log, pid file, program logs and program files
    (conf.d/*.conf) under supervisor_dir; supervisorctl -c this file talks to it."""
    return f"""\
[unix_http_server]
file={supervisor_dir}/supervisor.sock

[supervisord]
logfile={supervisor_dir}/supervisord.log
pidfile={supervisor_dir}/supervisord.pid
childlogdir={supervisor_dir}/logs
nodaemon=false

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{supervisor_dir}/supervisor.sock

[include]
files = {supervisor_dir}/conf.d/*.conf
"""
