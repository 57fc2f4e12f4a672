"""The public side through the real nginx of the sandbox: what each client gets
for the pages of a deployed Reflex app, with the default security headers; a URL
another app already has is refused; and a deploy whose server name another site
has (`nginx -t` only warns) fails its switch, the previous site kept."""

from __future__ import annotations

import grp
import os
import pwd
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import AppRepo, free_port, get

pytestmark = pytest.mark.integration

BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
CURL = {"Accept": "*/*"}


class Site:
    def __init__(self, cli, sandbox, repo: AppRepo, url: str):
        self.cli, self.sandbox, self.repo, self.url = cli, sandbox, repo, url

    def version(self) -> str:
        return get(f"{self.url}/api/version").json()["version"]

    def page_version(self) -> str:
        html = get(f"{self.url}/", headers=BROWSER).text
        return html.split("sample ", 1)[1].split("<", 1)[0] if "sample " in html else ""

    def reload_nginx(self) -> None:
        """Reload and wait until the workers of before are gone: `nginx -s reload` only
        signals the master, and until an old worker takes the signal it still accepts
        connections and serves the shadow's 418 (with an empty body), even after a new
        worker has answered once."""
        master = Path(self.sandbox.path("nginx", "nginx.pid")).read_text().strip()
        old = workers(master)
        subprocess.run([*self.sandbox.nginx_cmd.split(), "-s", "reload"], check=True)
        deadline = time.monotonic() + 15
        while old & workers(master) or get(f"{self.url}/api/version").status_code == 418:
            assert time.monotonic() < deadline, "nginx's old workers still serve after 15 s"
            time.sleep(0.1)


def workers(master: str) -> set[str]:
    children = Path(f"/proc/{master}/task/{master}/children")
    return set(children.read_text().split()) if children.exists() else set()


@pytest.fixture(scope="module")
def site(cli, sandbox, sandbox_server, tmp_path_factory) -> Site:
    repo = AppRepo(tmp_path_factory.mktemp("repo") / "sampleapp")
    url = f"http://127.0.0.1:{free_port()}"
    cli.ok(
        "app",
        "add",
        "pub",
        "--server",
        sandbox_server,
        "--source",
        str(repo.path),
        "--url",
        url,
        "--health-timeout",
        "20",
    )
    return Site(cli, sandbox, repo, url)


def test_every_client_gets_the_page_and_nothing_answers_418(site):
    result = site.cli("deploy", "pub")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "✓ public check (" in result.stdout
    assert "the public side answers: / (browser and curl)" in result.stdout

    for headers in (BROWSER, CURL, {}):
        page = get(f"{site.url}/", headers=headers)
        assert page.status_code == 200, headers
        assert "<html" in page.text.lower()
    missing_for_curl = get(f"{site.url}/no/such/route", headers=CURL)
    assert missing_for_curl.status_code == 404
    assert "<html" in missing_for_curl.text.lower()  # the app's 404 page
    missing_for_browser = get(f"{site.url}/no/such/route", headers=BROWSER)
    assert missing_for_browser.status_code == 200  # the SPA fallback routes it client-side
    assert get(f"{site.url}/ping").json() == "pong"
    assert get(f"{site.url}/api/version", headers=BROWSER).json()["version"] == site.version()
    for path in ("/", "/no/such/route", "/about", "/api/nothing"):
        for headers in (BROWSER, CURL):
            assert get(f"{site.url}{path}", headers=headers).status_code != 418, (path, headers)


SECURITY = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
    "content-security-policy": "frame-ancestors 'self'",
}


def test_the_real_nginx_sends_the_security_headers(site):
    index = get(f"{site.url}/", headers=BROWSER).text
    asset = "/assets/" + index.split('"/assets/', 1)[1].split('"', 1)[0]
    for path, status in (("/", 200), ("/ping", 200), (asset, 200), ("/no/such/route", 404)):
        answer = get(f"{site.url}{path}", headers=CURL)
        assert answer.status_code == status, path
        got = {k: answer.headers.get_list(k) for k in SECURITY}
        assert got == {k: [v] for k, v in SECURITY.items()}, path
        assert "strict-transport-security" not in answer.headers  # an http site


def test_a_second_app_claiming_the_url_differently_spelled_is_refused(site, sandbox_server):
    port = site.url.rsplit(":", 1)[1]
    result = site.cli(
        *("app", "add", "pub-copy", "--server", sandbox_server, "--source", str(site.repo.path)),
        *("--url", f"HTTP://127.0.0.1:{port}/"),
    )
    assert result.returncode != 0
    assert (
        f"app 'pub' already uses http://127.0.0.1:{port}: a URL belongs to one app, on every "
        "server; choose another host name or port"
    ) in result.stderr, result.stderr
    assert "pub-copy" not in [a["name"] for a in site.cli.json("app", "list")]


def test_a_server_name_another_site_has_fails_the_switch(site):
    before = site.version()
    live = [r for r in site.cli.json("releases", "pub") if r["current"]][0]
    # A server block that comes first for the same address and name: `nginx -t`
    # only warns (conflicting server name); nginx would serve one of the two, here
    # the shadow's 418. The switch fails and the previous site stays.
    port = site.url.rsplit(":", 1)[1]
    shadow = Path(site.sandbox.nginx_conf_dir) / "aa-shadow.conf"
    shadow.write_text(f"server {{ listen 127.0.0.1:{port}; server_name 127.0.0.1; return 418; }}\n")
    try:
        site.repo.set_version("v2-shadowed")
        result = site.cli("deploy", "pub")
        assert result.returncode == 1, result.stdout + result.stderr
        reason = site.cli.json("deployments", "pub")[0]["reason"]
        assert reason == (
            "the switch failed, the previous site config was kept: nginx -t: another site on "
            "this server already has server name 127.0.0.1"
        ), reason
    finally:
        shadow.unlink()
        site.reload_nginx()
    assert site.version() == before
    assert site.page_version() == before
    releases = site.cli.json("releases", "pub")
    assert releases[0]["status"] == "bad"
    assert [r for r in releases if r["current"]][0]["id"] == live["id"]


def test_a_site_nginx_does_not_serve_after_the_switch_is_switched_back(
    cli, sandbox, sandbox_server, tmp_path_factory
):
    # An app whose URL names a host: its site listens on every address of its port.
    # A site on 127.0.0.1 and that port is more specific and takes every connection
    # to 127.0.0.1, whatever the name, and `nginx -t` has nothing to say about it:
    # after the reload the public check (which asks 127.0.0.1) gets 418.
    repo = AppRepo(tmp_path_factory.mktemp("named") / "sampleapp")
    port = free_port()
    named = Site(cli, sandbox, repo, f"http://127.0.0.1:{port}")  # where the site answers
    cli.ok(
        "app", "add", "pub-named", "--server", sandbox_server, "--source", str(repo.path),
        "--url", f"http://localhost:{port}", "--health-timeout", "20",
    )  # fmt: skip
    assert cli("deploy", "pub-named").returncode == 0
    before = named.version()
    live = [r for r in cli.json("releases", "pub-named") if r["current"]][0]
    shadow = Path(sandbox.nginx_conf_dir) / "aa-shadow-named.conf"
    shadow.write_text(f"server {{ listen 127.0.0.1:{port}; server_name _; return 418; }}\n")
    try:
        repo.set_version("v2-shadowed")
        result = cli("deploy", "pub-named")
        assert result.returncode == 1, result.stdout + result.stderr
        reason = cli.json("deployments", "pub-named")[0]["reason"]
        assert reason.startswith("the public side failed after the switch: / answered 418"), reason
        assert reason.endswith(f"; switched back to release {live['id']}"), reason
        assert "switched back to the previous site" in result.stdout
    finally:
        shadow.unlink()
        named.reload_nginx()
    assert named.version() == before
    releases = cli.json("releases", "pub-named")
    assert releases[0]["status"] == "bad"
    assert [r for r in releases if r["current"]][0]["id"] == live["id"]


def test_a_deploy_root_closed_to_others_is_named_by_server_check_and_by_the_deploy(
    site, sandbox_server
):
    """nginx's workers as nobody and the sandbox dir closed to others (0700): the check
    names the directory that keeps nginx out; a deploy run anyway (nothing forces a
    server check first) stops before anything starts, naming it for the app's user."""
    if os.geteuid() != 0:
        pytest.fail("this test needs root: nginx's master must be able to switch users")
    conf = Path(site.sandbox.path("nginx", "nginx.conf"))
    original = conf.read_text()
    assert original.startswith("user "), original[:40]
    live = [r for r in site.cli.json("releases", "pub") if r["current"]][0]
    box = Path(site.sandbox.dir)
    mode = box.stat().st_mode
    conf.write_text("user nobody nogroup;\n" + original.split("\n", 1)[1])
    box.chmod(0o700)
    try:
        site.reload_nginx()
        check = site.cli("server", "check", sandbox_server)
        assert check.returncode != 0
        # named from the top: the first directory on the way down that keeps nobody out
        closed = [d for d in Path(site.sandbox.deploy_root).parents if not d.stat().st_mode & 1]
        assert closed == [box], closed
        said = f"nginx runs as nobody, who cannot enter {box} (mode 700"
        assert said in check.stdout, check.stdout
        site.repo.set_version("v3-unreadable")
        result = site.cli("deploy", "pub")
        assert result.returncode == 1, result.stdout + result.stderr
        reason = site.cli.json("deployments", "pub")[0]["reason"]
        assert f"the app runs as rxa-pub, who cannot enter {box} (mode 700" in reason, reason
    finally:
        box.chmod(mode)
        conf.write_text(original)
        site.reload_nginx()
    assert [r for r in site.cli.json("releases", "pub") if r["current"]][0]["id"] == live["id"]
    assert site.version() != "v3-unreadable"
    assert site.cli("server", "check", sandbox_server).returncode == 0


def test_each_app_runs_as_its_own_user_and_cannot_reach_another(site, sandbox):
    """Two apps on one server (pub and pub-named, both live): each backend runs as its
    own Unix user, which cannot read the other's env, data or code, nor write the
    staging dir; nginx reads the frontend through its group."""
    if os.geteuid() != 0:
        pytest.fail("this test needs root: the sandbox's login must be able to make users")
    root = Path(sandbox.deploy_root)
    for app in ("pub", "pub-named"):
        user = f"rxa-{app}"
        assert pwd.getpwnam(user).pw_gecos == f"rxpanel app {app}"
        pids = [
            line.split("pid ", 1)[1].split(",", 1)[0]
            for line in supervisor(sandbox, "status").splitlines()
            if line.split()[0] in (f"rxpanel-{app}-blue", f"rxpanel-{app}-green")
            and "RUNNING" in line
        ]
        assert pids, supervisor(sandbox, "status")
        for pid in pids:  # the backend and every process under it
            assert owner_of(pid) == user
            assert all(owner_of(child) == user for child in children(pid))
        rel = (root / app / "current").resolve()
        assert stat_of(rel / "env") == (user, user, 0o600)
        assert stat_of(rel / "backend")[:2] == (user, user)
        assert stat_of(root / app / "shared") == (user, user, 0o700)
        assert stat_of(root / app / "tmp") == ("root", "root", 0o700)
        assert stat_of(rel / "frontend") == ("root", grp.getgrgid(0).gr_name, 0o750)

    other = (root / "pub-named" / "current").resolve()
    for attempt in (
        f"cat {other}/env",
        f"ls {root}/pub-named/shared",
        f"cat {other}/backend/rxconfig.py",
        f"ls {other}/frontend",
        f"touch {root}/pub/tmp/staged.conf",
        f"touch {root}/pub-named/releases/x",
    ):
        result = as_user("rxa-pub", attempt)
        assert result.returncode != 0, attempt
        assert "Permission denied" in result.stderr, (attempt, result.stderr)
    own = (root / "pub" / "current").resolve()
    assert as_user("rxa-pub", f"cat {own}/env").returncode == 0  # its own, it reads


def supervisor(sandbox, *args: str) -> str:
    cmd = [*sandbox.supervisorctl_cmd.split(), *args]
    return subprocess.run(cmd, capture_output=True, text=True).stdout


def owner_of(pid: str) -> str:
    uid = next(
        line.split()[1]
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if line.startswith("Uid:")
    )
    return pwd.getpwuid(int(uid)).pw_name


def children(pid: str) -> list[str]:
    out = subprocess.run(["pgrep", "-P", pid], capture_output=True, text=True).stdout
    return [c for c in out.split() if c]


def stat_of(path: Path) -> tuple[str, str, int]:
    st = path.stat()
    return pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name, st.st_mode & 0o777


def as_user(user: str, line: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["runuser", "-u", user, "--", "sh", "-c", line], capture_output=True, text=True
    )
