"""Where sources come from, for real: a clone over ssh:// from the sandbox's sshd
uses the app's deploy key and nothing of the panel's (its ~/.ssh key and its agent
hold a key that sshd would accept); a local source outside the allowed roots is
refused when the app is added, and again by the build when the roots change."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from rxpanel import sshkeys
from tests.conftest import ROOT, SAMPLE_APP, AppRepo, Cli, free_port, wait_for
from tests.support.server import server_snapshot

pytestmark = pytest.mark.integration


@pytest.fixture
def agent(tmp_path, sandbox):
    """An ssh-agent holding the key sandbox's sshd accepts (the panel's own identity)."""
    sock = tmp_path / "agent.sock"
    proc = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL)
    try:
        wait_for(sock.exists, 10, what="the ssh-agent socket")
        env = {**os.environ, "SSH_AUTH_SOCK": str(sock)}
        subprocess.run(["ssh-add", "-q", str(sandbox.key_path)], env=env, check=True)
        yield sock
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


def accepted(sandbox) -> list[str]:
    """The fingerprints of the keys sshd accepted, in order."""
    log = (Path(sandbox.dir) / "ssh" / "sshd.log").read_text()
    return [ln.rsplit(" ", 1)[-1] for ln in log.splitlines() if "Accepted publickey" in ln]


def fingerprint_of(public_file: Path) -> str:
    return sshkeys.fingerprint(public_file.read_text())


@pytest.mark.parametrize("jail", ["bwrap", "off"])
def test_an_ssh_clone_uses_the_deploy_key_only(jail, sandbox, agent, tmp_path):
    repo = AppRepo(tmp_path / "work" / "sampleapp")
    bare = tmp_path / "git" / "sampleapp.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo.path), str(bare)], check=True)
    # the panel's own identity, where ssh would look for one: ~/.ssh and the agent
    panel_home = tmp_path / "panel-user"
    (panel_home / ".ssh").mkdir(parents=True)
    shutil.copy(sandbox.key_path, panel_home / ".ssh" / "id_ed25519")
    (panel_home / ".ssh" / "id_ed25519").chmod(0o600)
    cli = Cli(tmp_path / "home")
    cli.env |= {"HOME": str(panel_home), "SSH_AUTH_SOCK": str(agent)}
    if jail == "off":
        cli.env["RXPANEL_BUILD_JAIL"] = "off"
    cli.ok(*sandbox.server_add_args("sandbox"))
    source = f"ssh://{sandbox.user}@127.0.0.1:{sandbox.ssh_port}{bare}"
    added = cli.ok(
        "app", "add", "over-ssh", "--server", "sandbox", "--source", source,
        "--url", f"http://127.0.0.1:{free_port()}",
    )  # fmt: skip
    key = cli.ok("app", "deploy-key", "over-ssh").strip()
    assert key.startswith("ssh-ed25519 ") and key in added
    panels = fingerprint_of(Path(f"{sandbox.key_path}.pub"))
    seen = len(accepted(sandbox))

    # not on the git host yet: the clone fails, though ~/.ssh and the agent would do
    refused = cli("doctor", "over-ssh", "--checkout", "--no-probe")
    assert refused.returncode == 1
    assert "checkout failed: git clone" in refused.stdout, refused.stdout + refused.stderr
    assert "make sure you have the correct access rights" in refused.stdout
    assert accepted(sandbox)[seen:] == []

    authorized = Path(sandbox.dir) / "ssh" / "authorized_keys"
    before = authorized.read_text()
    authorized.write_text(before.rstrip("\n") + "\n" + key + "\n")
    try:
        data = cli.json("doctor", "over-ssh", "--checkout", "--no-probe")
    finally:
        authorized.write_text(before)
    assert data["source"].endswith("/over-ssh/src"), data
    assert data["worst"] != "FAIL", data
    logins = accepted(sandbox)[seen:]
    assert logins and set(logins) == {sshkeys.fingerprint(key)}
    assert panels not in logins
    checkout = Path(data["source"])
    assert (checkout / "rxconfig.py").is_file()
    known = (checkout.parent / "ssh" / "known_hosts").read_text()
    assert f"[127.0.0.1]:{sandbox.ssh_port} ssh-ed25519 " in known


def test_a_source_outside_the_roots_is_refused_at_add_and_at_build(sandbox, tmp_path):
    cli = Cli(tmp_path / "home")
    cli.ok(*sandbox.server_add_args("sandbox"))
    outside = ROOT / "rxpanel"  # a real directory, not under any root the tests allow
    url = f"http://127.0.0.1:{free_port()}"
    refused = cli("app", "add", "outside", "--server", "sandbox", "--source", str(outside),
                  "--url", url)  # fmt: skip
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        f"rxpanel: source '{outside}': {outside} is outside the directories local sources "
        f"may come from (RXPANEL_SOURCE_ROOTS={cli.env['RXPANEL_SOURCE_ROOTS']}); an admin "
        "allows a directory with RXPANEL_SOURCE_ROOTS=/path"
    )
    assert [a["name"] for a in cli.json("app", "list")] == []

    # allowed when added; then the admin narrows the roots: the build refuses it
    src = tmp_path / "apps" / "sampleapp"
    shutil.copytree(SAMPLE_APP, src, ignore=shutil.ignore_patterns(".web", "__pycache__"))
    cli.ok("app", "add", "narrowed", "--server", "sandbox", "--source", str(src), "--url", url)
    narrow = tmp_path / "elsewhere"
    cli.env["RXPANEL_SOURCE_ROOTS"] = str(narrow)
    result = cli("deploy", "narrowed")
    assert result.returncode == 1
    # (the quoted value at the start is shortened when the path is long: not compared)
    why = (
        f"{src} is outside the directories local sources may come from "
        f"(RXPANEL_SOURCE_ROOTS={narrow}); an admin allows a directory with "
        "RXPANEL_SOURCE_ROOTS=/path"
    )
    assert why in result.stderr, result.stdout + result.stderr
    assert cli.json("deployments", "narrowed")[0]["reason"].endswith(why)
    assert not (tmp_path / "home" / "builds" / "narrowed").exists()  # nothing copied
    files = [f for f, _ in server_snapshot(sandbox)[1] if "narrowed" in f]
    assert not [f for f in files if "/releases/" in f or f.endswith(".conf")], files
