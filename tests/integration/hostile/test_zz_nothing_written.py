"""The whole hostile suite, together: it has cases at every edge, all distinct, and
after all of them (this file runs last, see conftest.py) the server, the panel's
database and the marker files are as they were before the first."""

from __future__ import annotations

import pytest

from tests.integration.hostile.test_api import API_CASES
from tests.integration.hostile.test_cli import CLI_CASES
from tests.integration.hostile.test_ui import UI_CASES
from tests.integration.hostile.test_webhooks import HOOK_CASES
from tests.integration.hostile.world import MARKERS, PROGRESS

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def test_the_whole_suite_ran_nothing_and_wrote_nothing(world):
    edges = {"ui": UI_CASES, "cli": CLI_CASES, "webhook": HOOK_CASES, "api": API_CASES}
    counts = {edge: len(cases) for edge, cases in edges.items()}
    assert sum(counts.values()) >= 30, counts
    assert all(n >= 8 for n in counts.values()), counts
    ids = [f"{edge}:{c.id}" for edge, cases in edges.items() for c in cases]
    assert len(set(ids)) == len(ids), "every case is distinct"
    # after every hostile case of this session, and against the same world as they were
    pending = [case for case in PROGRESS.collected if case not in PROGRESS.ran]
    assert not pending, f"the final check ran before {len(pending)} cases: {pending[:5]}"
    refusals = [case for case in PROGRESS.passed if "refuses[" in case]  # each compared
    assert len(world.compared) >= len(refusals), "the cases had a world of their own"
    world.assert_untouched("the whole suite")
    for marker in MARKERS:
        assert not marker.exists(), marker
