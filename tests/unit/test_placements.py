"""One placement row per server of an app, one of them primary; every reader sees
a fleet app on all of its servers."""

from __future__ import annotations

import subprocess

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from rxpanel import db, present, validate
from rxpanel.models import App, AppServer
from rxpanel.services import Conflict, NotFound, app_records, apps, overview, releases, servers


@pytest.fixture
def key_text(tmp_path):
    path = tmp_path / "key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path.read_text()


@pytest.fixture
def fleet(home, key_text):
    """`shop` on web1 (primary) and web2; `solo` on web1 only."""
    for name in ("web1", "web2", "web3"):
        servers.add(servers.ServerInput(name=name, host="127.0.0.1"), key_text)
    solo = apps.add(
        apps.AppInput(
            name="solo", server="web1", source="https://git.example/x.git", url="http://s.example"
        )
    )
    shop = apps.add(
        apps.AppInput(
            name="shop", server="web1", source="https://git.example/x.git", url="http://a.example"
        )
    )
    apps.add_server("shop", "web2")
    return shop, solo


def _on(app) -> list[tuple[str, dict[str, int], bool]]:
    return [(p.server.name, p.ports, p.primary) for p in apps.placements(app.id)]


def test_every_server_has_a_row_the_primary_first_with_ports_of_its_own(fleet):
    shop, solo = fleet
    assert _on(shop) == [
        ("web1", {"blue": 8102, "green": 8103}, True),  # solo has 8100/8101 on web1
        ("web2", {"blue": 8100, "green": 8101}, False),
    ]
    assert _on(solo) == [("web1", {"blue": 8100, "green": 8101}, True)]
    assert [(s.name, ports) for s, ports in apps.targets(shop)] == [
        ("web1", {"blue": 8102, "green": 8103}),
        ("web2", {"blue": 8100, "green": 8101}),
    ]
    assert apps.primary_server(shop).name == "web1"


def test_the_database_refuses_a_second_primary(fleet):
    shop, _ = fleet
    with pytest.raises(IntegrityError), db.session() as s:
        web3 = servers.get("web3")
        s.add(AppServer(app_id=shop.id, server_id=web3.id, port_blue=1, port_green=2, primary=True))


def test_ports_are_per_server(fleet):
    shop, _ = fleet
    web1, web2 = servers.get("web1"), servers.get("web2")
    assert apps.spare_ports(web2.id)[:2] == [8102, 8103]
    assert apps.spare_ports(web1.id)[:2] == [8104, 8105]
    apps.set_port(shop.id, "green", 8200, server_id=web2.id)
    apps.set_port(shop.id, "blue", 8300)  # no server: the primary
    assert [p.ports for p in apps.placements(shop.id)] == [
        {"blue": 8300, "green": 8103},
        {"blue": 8100, "green": 8200},
    ]
    with pytest.raises(NotFound):
        apps.set_port(shop.id, "blue", 8400, server_id=servers.get("web3").id)


def test_the_primary_cannot_be_removed_a_further_server_can(fleet):
    shop, _ = fleet
    with pytest.raises(Conflict, match="primary server; it cannot be removed"):
        apps.remove_server("shop", "web1")
    with pytest.raises(NotFound, match="does not deploy to web3"):
        apps.remove_server("shop", "web3")
    with pytest.raises(Conflict, match="already deploys to web1"):
        apps.add_server("shop", "web1")
    apps.remove_server("shop", "web2")
    assert [name for name, _, _ in _on(shop)] == ["web1"]


def test_moving_an_undeployed_app_moves_its_primary(fleet):
    shop, _ = fleet
    settings = {k: v for k, v in apps.public(shop).items() if k in ("source", "url")}
    apps.update("shop", apps.AppInput(name="shop", server="web3", **settings))
    assert _on(shop) == [
        ("web3", {"blue": 8100, "green": 8101}, True),
        ("web2", {"blue": 8100, "green": 8101}, False),
    ]
    # onto one of its further servers: that one becomes the primary, ports kept
    apps.update("shop", apps.AppInput(name="shop", server="web2", **settings))
    assert _on(shop) == [("web2", {"blue": 8100, "green": 8101}, True)]


def test_a_deployed_app_stays_on_its_server(fleet):
    shop, _ = fleet
    rel = releases.create(
        id="20260101T000000-aaaaaa",
        app_id=shop.id,
        commit="c",
        build_key="k",
        req_hash="h",
        env_enc="x",
    )
    apps.set_live(shop.id, rel.id, "blue")
    with pytest.raises(Conflict, match="cannot move"):
        apps.update(
            "shop",
            apps.AppInput(
                name="shop",
                server="web3",
                source="https://git.example/x.git",
                url="http://a.example",
            ),
        )
    assert apps.primary_server(shop).name == "web1"


TAKEN = (
    r"app 'shop' already uses http://a.example: a URL belongs to one app, on every server; "
    "choose another host name or port"
)


def test_a_url_belongs_to_one_app_on_every_server(fleet):
    """Not only on the servers they share: shop runs on web1 and web2, copy on web3."""
    for spelling in ("http://a.example", "HTTP://A.Example:80/", "http://a.example."):
        with pytest.raises(Conflict, match=TAKEN):
            apps.add(
                apps.AppInput(
                    name="copy", server="web3", source="https://git.example/x.git", url=spelling
                )
            )
    assert "copy" not in [a.name for a in apps.list_all()]
    # the https site of the same name also answers port 80 (its redirect)
    with pytest.raises(Conflict, match=r"its nginx site answers a.example on port 80 too"):
        apps.add(
            apps.AppInput(
                name="copy",
                server="web3",
                source="https://git.example/x.git",
                url="https://a.example",
            )
        )
    # another port of the same name is another site
    other = apps.add(
        apps.AppInput(
            name="copy",
            server="web3",
            source="https://git.example/x.git",
            url="http://a.example:8080",
        )
    )
    assert other.url == "http://a.example:8080"
    # taking the URL over by an update is refused as well, and changes nothing
    with pytest.raises(Conflict, match=TAKEN):
        apps.update(
            "solo",
            apps.AppInput(
                name="solo",
                server="web1",
                source="https://git.example/x.git",
                url="http://a.example",
            ),
        )
    assert apps.get("solo").url == "http://s.example"


def test_an_old_row_is_compared_normalised(fleet):
    shop, _ = fleet
    with db.session() as s:  # stored before URLs were normalised
        row = s.get(App, shop.id)
        row.url = "http://A.example:80"
        s.add(row)
    with pytest.raises(Conflict, match="app 'shop' already uses http://a.example"):
        apps.add(
            apps.AppInput(
                name="copy",
                server="web3",
                source="https://git.example/x.git",
                url="http://a.example/",
            )
        )


def test_a_fleet_app_shows_on_each_of_its_servers(fleet):
    rows = {r["name"]: r for r in overview.rows()}
    assert rows["shop"]["server"] == "web1, web2"
    assert rows["solo"]["server"] == "web1"
    counts = {r.name: r.apps for r in servers.records()}
    assert counts == {"web1": 2, "web2": 1, "web3": 0}
    listed = {r["name"]: r["server"] for r in map(present.app_row, app_records.rows())}
    assert listed == {"shop": "web1, web2", "solo": "web1"}
    public = apps.public(apps.get("shop"))
    assert (public["server"], public["servers"]) == ("web1", ["web1", "web2"])
    assert (public["port_blue"], public["port_green"]) == (8102, 8103)


def test_a_server_used_by_a_fleet_app_only_as_further_server_is_not_deleted(fleet):
    with pytest.raises(Conflict, match="used by apps: shop"):
        servers.delete("web2")
    servers.delete("web3")


def test_deleting_an_app_frees_its_servers(fleet):
    shop, solo = fleet
    apps.delete("shop")
    with db.session() as s:
        assert [row.app_id for row in s.exec(select(AppServer))] == [solo.id]
    servers.delete("web2")


def test_a_fleet_is_added_all_or_nothing(fleet):
    def add(*further: str, url: str = "http://n.example"):
        data = apps.AppInput(name="new", server="web3", source="https://git.example/x.git", url=url)
        return apps.add(data, further=further)

    with pytest.raises(NotFound, match="no server named 'nope'"):
        add("web2", "nope")
    with pytest.raises(Conflict, match="new already deploys to web3"):
        add("web3")
    with pytest.raises(Conflict, match="app 'shop' already uses http://a.example"):
        add("web2", url="http://a.example")
    assert "new" not in [a.name for a in apps.list_all()]
    new = add("web2", "web1")
    assert _on(new) == [
        ("web3", {"blue": 8100, "green": 8101}, True),
        ("web1", {"blue": 8104, "green": 8105}, False),
        ("web2", {"blue": 8102, "green": 8103}, False),
    ]


def test_a_refused_removal_is_known_before_any_server_is_touched(fleet):
    with pytest.raises(Conflict, match="primary server"):
        apps.check_removable("shop", "web1")
    with pytest.raises(NotFound):
        apps.check_removable("shop", "web3")
    apps.check_removable("shop", "web2")
    assert len(apps.placements(fleet[0].id)) == 2  # asking removed nothing


IP_URL = "http://203.0.113.5"


def test_an_ip_address_or_catch_all_url_needs_consent(fleet):
    for url, why in (
        (IP_URL, "is an IP address: nginx would send every request to 203.0.113.5"),
        ("http://_", "is a catch-all name"),
        ("http://*.Example.org", r"\*\.example\.org is a catch-all name"),
    ):
        with pytest.raises(validate.ValidationError, match=why):
            apps.add(
                apps.AppInput(name="ip", server="web3", source="https://git.example/x.git", url=url)
            )
    assert "ip" not in [a.name for a in apps.list_all()]
    app = apps.add(
        apps.AppInput(
            name="ip",
            server="web3",
            source="https://git.example/x.git",
            url=IP_URL,
            allow_ip_url=True,
        )
    )
    # a change of other settings keeps the URL without asking again
    apps.update(
        "ip",
        apps.AppInput(
            name="ip", server="web3", source="https://git.example/y.git", url=IP_URL + ":80/"
        ),
    )
    assert (apps.get("ip").source, apps.get("ip").url) == ("https://git.example/y.git", IP_URL)
    # a new one asks again
    with pytest.raises(validate.ValidationError, match="is an IP address"):
        apps.update(
            "ip",
            apps.AppInput(
                name="ip", server="web3", source="https://git.example/y.git", url=IP_URL + ":81"
            ),
        )
    assert apps.get_by_id(app.id).url == IP_URL


def test_a_loopback_url_needs_no_consent(fleet):
    """Only the server itself reaches it: the sandbox's URLs."""
    app = apps.add(
        apps.AppInput(
            name="lo", server="web3", source="https://git.example/x.git", url="http://127.0.0.1:9"
        )
    )
    assert app.url == "http://127.0.0.1:9"


def test_only_an_admin_may_consent(fleet):
    from rxpanel import actions
    from rxpanel.services import Forbidden

    data = apps.AppInput(
        name="ip", server="web3", source="https://git.example/x.git", url=IP_URL, allow_ip_url=True
    )
    with pytest.raises(Forbidden, match="needs the admin role"):
        actions.add_app(data, actions.Actor.user("dee", "deployer"))
    assert "ip" not in [a.name for a in apps.list_all()]
    assert actions.add_app(data, actions.Actor.user("ada", "admin")).url == IP_URL
