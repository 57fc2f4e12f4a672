"""Issue 14's "done when": an open tab lives through a deploy and a rollback.

A tab of the sample app (deployed on the sandbox) bumps the counter to 3; the app is
redeployed with a visible change; within 60 s, with no user action, the tab shows the
new version (the release's /_rxpanel/live.js reloads it when quiet, the cutover moves
its websocket to the live colour) and the counter still reads 3 (the state lives in
the app's Redis, shared by blue and green; the token in sessionStorage). The same for
a rollback. No event lost: a click after each move counts.

The tests run in file order as one story, in one tab."""

from __future__ import annotations

import time

import pytest

from tests.conftest import AppRepo, free_port, get

pytestmark = pytest.mark.browser

APP = "tabs"
MOVE_TIMEOUT_MS = 60_000  # the bound, from the end of the deploy


class Tab:
    def __init__(self, cli, repo: AppRepo, url: str, page):
        self.cli, self.repo, self.url, self.page = cli, repo, url, page

    def version(self) -> str:
        return self.page.inner_text("#version")

    def count(self) -> str:
        return self.page.inner_text("#count")

    def token(self) -> str | None:
        return self.page.evaluate(
            "() => { for (let i = 0; i < sessionStorage.length; i++) {"
            " const k = sessionStorage.key(i); if (k.includes('token')) return sessionStorage"
            ".getItem(k); } return null; }"
        )

    def wait_count(self, n: int, timeout: float = 10_000) -> None:
        self.page.wait_for_function(
            "n => { const c = document.querySelector('#count');"
            " return !!c && c.innerText.trim() === String(n); }",
            arg=n,
            timeout=timeout,
        )

    def click(self, times: int, start: int) -> None:
        """Click the counter `times` times, each event seen by the backend before the next."""
        for i in range(1, times + 1):
            self.page.click("#increment")
            self.wait_count(start + i)

    def wait_moved(self, version: str, count: int) -> float:
        """Seconds until the tab shows `version` with `count`, with no user action."""
        t0 = time.monotonic()
        self.page.wait_for_function(
            "([v, n]) => { const h = document.querySelector('#version'),"
            " c = document.querySelector('#count');"
            " return !!h && h.innerText.trim() === 'sample ' + v"
            " && !!c && c.innerText.trim() === String(n); }",
            arg=[version, count],
            timeout=MOVE_TIMEOUT_MS,
        )
        return time.monotonic() - t0


@pytest.fixture(scope="module")
def tab(cli, sandbox_server, browser, tmp_path_factory):
    repo = AppRepo(tmp_path_factory.mktemp("tabs-repo") / "sampleapp")
    url = f"http://127.0.0.1:{free_port()}"
    cli.ok("app", "add", APP, "--server", sandbox_server, "--source", str(repo.path), "--url", url)
    out = cli.ok("deploy", APP)
    assert "state store" in out, out  # the shared Redis: what lets the state survive
    assert get(f"{url}/api/version").json()["version"] == "v1"
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{url}/")
    page.wait_for_selector("#version")
    try:
        yield Tab(cli, repo, url, page)
    finally:
        context.close()


def test_tab_bumps_the_counter(tab):
    assert tab.version() == "sample v1"
    # the page carries the release's script (nginx sub_filter), the app's code does not
    assert tab.page.locator('script[src="/_rxpanel/live.js"]').count() == 1
    tab.click(3, start=0)
    assert tab.count() == "3"


def test_tab_moves_to_the_new_release_with_its_state(tab):
    token = tab.token()
    assert token, "no Reflex token in sessionStorage"
    tab.repo.set_version("v2")
    out = tab.cli.ok("deploy", APP)
    assert "cutover" in out, out
    took = tab.wait_moved("v2", 3)
    print(f"tab on v2 with count 3, {took:.1f} s after the deploy ended")
    assert tab.token() == token  # the same Reflex session, not a fresh one
    assert get(f"{tab.url}/api/version").json()["version"] == "v2"
    tab.click(1, start=3)  # the websocket is on the live colour: no event lost
    assert tab.count() == "4"


def test_tab_follows_a_rollback_with_its_state(tab):
    token = tab.token()
    out = tab.cli.ok("rollback", APP)
    assert "cutover" in out, out
    took = tab.wait_moved("v1", 4)
    print(f"tab back on v1 with count 4, {took:.1f} s after the rollback ended")
    assert tab.token() == token
    assert get(f"{tab.url}/api/version").json()["version"] == "v1"
    tab.click(1, start=4)
    assert tab.count() == "5"


def test_with_the_notice_choice_the_tab_offers_a_reload_and_keeps_its_state(tab):
    tab.cli.ok("app", "update", APP, "--on-new-release", "notice")
    tab.repo.set_version("v3")
    tab.cli.ok("deploy", APP)
    notice = tab.page.locator("#rxpanel-new-release")
    notice.wait_for(timeout=MOVE_TIMEOUT_MS)  # told, not reloaded under the user's hands
    assert "new version" in notice.inner_text()
    assert tab.version() == "sample v1" and tab.count() == "5"
    notice.get_by_role("button", name="Reload").click()
    tab.wait_moved("v3", 5)
    tab.click(1, start=5)
    assert tab.count() == "6"
