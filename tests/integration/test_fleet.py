"""An app on three servers (sandboxes in network namespaces: separate hosts, each
serving the same port). Built once, uploaded and gated in parallel, switched only
when every server passed; one server's failure leaves the whole fleet as it was."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import AppRepo, get

pytestmark = pytest.mark.integration

PORT = 18080  # the same on every server: each is its own host
HOST = "fleet.test"
# crash at start only on a server whose app home holds a `crash` file
CRASH_HERE = (
    "import os\n"
    'if os.path.exists(os.path.join(os.environ.get("HOME", ""), "crash")):\n'
    '    raise RuntimeError("crash on this server")\n'
)


@pytest.fixture(scope="module")
def boxes(tmp_path_factory):
    from rxpanel import sandbox

    made = []
    try:
        for i in range(3):
            made.append(sandbox.up(tmp_path_factory.mktemp(f"fleet{i}"), netns=True))
        yield made
    finally:
        for box in made:
            sandbox.down(box.dir)


def served(box) -> str:
    return get(f"http://{box.host}:{PORT}/api/version", headers={"Host": HOST}).json()["version"]


def test_a_fleet_switches_together_or_not_at_all(cli, boxes, tmp_path_factory):
    for i, box in enumerate(boxes):
        cli.ok(*box.server_add_args(f"fleet{i}"))
    repo = AppRepo(tmp_path_factory.mktemp("fleet-repo") / "app")
    servers = [arg for i in range(3) for arg in ("--server", f"fleet{i}")]
    cli.ok(
        "app",
        "add",
        "fleet",
        *servers,
        "--source",
        str(repo.path),
        "--url",
        f"http://{HOST}:{PORT}",
        "--health-timeout",
        "25",
    )
    (fleet,) = [a for a in cli.json("app", "list") if a["name"] == "fleet"]
    assert fleet["servers"] == ["fleet0", "fleet1", "fleet2"]

    first = cli("deploy", "fleet")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "on 3 servers" in first.stdout
    assert first.stdout.count("✓ build (") == 1  # built once
    for name in ("fleet0", "fleet1", "fleet2"):
        assert f"✓ health gate [{name}]" in first.stdout
    assert [served(b) for b in boxes] == ["v1"] * 3

    # one server's nginx refuses the new site: the ones that switched go back
    broken = Path(boxes[2].nginx_conf_dir) / "zz-broken.conf"
    broken.write_text("server { this_is_not_a_directive; }\n")
    repo.set_version("v2")
    try:
        result = cli("deploy", "fleet")
        assert result.returncode == 1
        reason = cli.json("deployments", "fleet")[0]["reason"]
        assert "the switch failed on 1 of 3 servers" in reason and "fleet2" in reason, reason
        assert [served(b) for b in boxes] == ["v1"] * 3
    finally:
        broken.unlink()

    # one server's backend crashes at start: the gate fails there, nobody switches
    home = Path(boxes[1].deploy_root) / "fleet" / "shared" / "home"
    (home / "crash").write_text("")
    repo.set_version("v3", CRASH_HERE)
    try:
        result = cli("deploy", "fleet")
        assert result.returncode == 1
        reason = cli.json("deployments", "fleet")[0]["reason"]
        assert "the health gate failed on 1 of 3 servers" in reason, reason
        assert "fleet1: release" in reason and "fleet0: ok" in reason
        assert [served(b) for b in boxes] == ["v1"] * 3
    finally:
        (home / "crash").unlink()

    assert cli("deploy", "fleet").returncode == 0
    assert [served(b) for b in boxes] == ["v3"] * 3

    back = cli("rollback", "fleet")
    assert back.returncode == 0, back.stderr
    assert [served(b) for b in boxes] == ["v1"] * 3
    for box in boxes:
        assert not (Path(box.deploy_root) / "fleet" / ".lock").exists()
