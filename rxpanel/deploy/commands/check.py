"""`server check`: one command per item, reported item by item."""

from __future__ import annotations

from rxpanel.deploy.commands.base import Host, q

PYTHON_OK = (
    "import sys, venv, ensurepip; v = sys.version_info; "
    "print('python %d.%d.%d with venv' % v[:3]); sys.exit(0 if v >= (3, 10) else 1)"
)


def writable(host: Host, path: str) -> str:
    """Conf dirs are written with sudo when the server says so."""
    return host.priv(f"sh -c {q(f'mkdir -p {q(path)} && test -w {q(path)}')}")


def deploy_root_writable(host: Host) -> str:
    """The deploy root is always written as the SSH user, never with sudo."""
    root = q(host.deploy_root)
    make = f"mkdir -p {root} 2>/dev/null"
    if host.sudo:  # let sudo create it, owned by the user
        make = f"{{ {make} || sudo -n install -d -o {q(host.user)} {root}; }}"
    return f"{make} && test -w {root}"


# Who nginx's workers run as: a master not run by root cannot switch users, so its
# workers are its own user (the sandbox); else the `user` directive (www-data in
# Debian's nginx.conf). Sets $uid and $name.
NGINX_WHO = """\
conf=$({nginx_t} 2>/dev/null)
pidfile=$(printf '%s\\n' "$conf" | awk '$1 == "pid" {{ sub(/;.*/, "", $2); p = $2 }} END {{ print p }}')
master=$(cat "${{pidfile:-/run/nginx.pid}}" 2>/dev/null)
uid=$(stat -c %u "/proc/${{master:-none}}" 2>/dev/null)
if [ -z "$uid" ] || [ "$uid" = 0 ]; then
    name=$(printf '%s\\n' "$conf" | awk '$1 == "user" {{ sub(/;.*/, "", $2); print $2; exit }}')
    uid=$(id -u "${{name:-www-data}}" 2>/dev/null) || {{ echo "nginx's user ${{name:-www-data}} does not exist"; exit 1; }}
fi
name=$(id -nu "$uid" 2>/dev/null || echo "$uid")
"""

# Can user $uid ($name) reach $root? Every directory from / down must let it in
# (x for owner, group or other, as the kernel picks them); name the ones that do not.
REACHES = """\
if [ "$uid" = 0 ] || [ "$uid" = "$(id -u)" ]; then
    echo "{who} runs as $name, who can read $root"
    exit 0
fi
gids=" $(id -G "$uid" 2>/dev/null) "
blocked=""
d=$root
while :; do
    if set -- $(stat -L -c '%u %g %a' "$d" 2>/dev/null) && [ -n "${{3:-}}" ]; then
        if [ "$1" = "$uid" ]; then bit=64
        else case "$gids" in *" $2 "*) bit=8 ;; *) bit=1 ;; esac
        fi
        if [ $(( 0$3 & bit )) -eq 0 ]; then
            blocked="$d (mode $3, owner $(stat -L -c '%U:%G' "$d")); $blocked"
        fi
    fi
    [ "$d" = / ] && break
    d=$(dirname "$d")
done
if [ -n "$blocked" ]; then
    echo "{who} runs as $name, who cannot enter ${{blocked%; }}: let it in (chmod o+x, or add $name to the group) or choose another deploy root"
    exit 1
fi
echo "{who} runs as $name, who can read $root"
"""


def nginx_user(host: Host) -> str:
    """Shell lines setting $uid and $name to nginx's worker user."""
    return NGINX_WHO.format(nginx_t=host.nginx("-T"))


def reaches(root: str, who: str) -> str:
    """Shell lines: exit 1 naming the directories user $uid cannot enter on the way to root."""
    return f"root={q(root)}\n" + REACHES.format(who=who)


def nginx_reads_deploy_root(host: Host) -> str:
    """Static files nginx cannot reach fall through to the backend: every page
    fails while the deploy reports success. Say which directory keeps nginx out."""
    script = f"root={q(host.deploy_root)}\n" + nginx_user(host) + REACHES.format(who="nginx")
    return f"sh -c {q(script)}"


def app_isolation(host: Host) -> str:
    """Whether each app gets a Unix user of its own here, and if not, what is missing."""
    if host.isolated:
        how = "as root" if host.user == "root" else "through sudo"
        return f"echo {q(f'each app runs as a Unix user of its own (made {how})')}"
    text = (
        f"apps run as {host.user}, the SSH login: without root or sudo no app gets a Unix "
        "user of its own, so every app on this server can read the others' env and data"
    )
    return f"echo {q(text)}"


def items(host: Host) -> list[tuple[str, str]]:
    return [
        ("SSH login", 'echo "logged in as $(id -un) on $(hostname)"'),
        ("python3 >= 3.10 with venv", f"python3 -c {q(PYTHON_OK)}"),
        ("nginx -t", f"{host.nginx('-t')} 2>&1"),
        (
            "supervisorctl reachable",
            f'pid=$({host.supervisorctl("pid")} 2>&1); case "$pid" in '
            '\'\'|*[!0-9]*) echo "$pid"; exit 1 ;; *) echo "supervisord pid $pid" ;; esac',
        ),
        ("deploy root writable", deploy_root_writable(host)),
        ("nginx can read the deploy root", nginx_reads_deploy_root(host)),
        ("app isolation", app_isolation(host)),
        ("nginx conf dir writable", writable(host, host.nginx_conf_dir)),
        ("supervisor conf dir writable", writable(host, host.supervisor_conf_dir)),
    ]
