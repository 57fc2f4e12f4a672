"""A cancelled deploy stops its build at once: the program the build runs, and every
process it started, are killed when the deployment's cancel event is set."""

from __future__ import annotations

import subprocess
import threading
import time

import pytest

from rxpanel.deploy import local

MARK = "271.5"  # `sleep 271.5`: this test's processes, found by their argument


def sleepers() -> list[str]:
    found = subprocess.run(["pgrep", "-f", f"sleep {MARK}"], capture_output=True, text=True)
    return found.stdout.split()


def test_cancel_kills_the_running_build_step_and_its_children():
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    started = time.monotonic()
    with local.cancelled_by(cancel), pytest.raises(local.BuildError) as e:
        local.run(["sh", "-c", f"sleep {MARK} & sleep {MARK}; wait"], what="reflex export")
    assert str(e.value) == local.CANCELLED
    assert time.monotonic() - started < 5
    time.sleep(0.3)
    assert sleepers() == []


def test_without_a_cancel_the_step_runs_to_its_end():
    event = threading.Event()
    with local.cancelled_by(event):
        assert local.run(["sh", "-c", "echo done"]) == "done"
    assert local.run(["sh", "-c", "echo outside"]) == "outside"  # no event: nothing to watch
