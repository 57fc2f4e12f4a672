"""The state classes map the build's compile step writes, read defensively, and the
comparison of two releases' maps (deploy/states.py)."""

from __future__ import annotations

import json

from rxpanel.deploy import build, states

ROOT = "reflex___state____state"
A, B = f"{ROOT}.app___app____a", f"{ROOT}.app___app____b"


def test_parse_keeps_names_and_hex_hashes_only():
    good = {ROOT: "0" * 32, A: "ab" * 16}
    assert states.parse(json.dumps(good)) == good
    assert states.parse(json.dumps(good).encode()) == good
    for bad in (
        "",
        None,
        "not json",
        "[1, 2]",
        json.dumps({A: 3}),
        json.dumps({A: "XYZ" * 11}),  # not hex
        json.dumps({"a b; rm -rf /": "0" * 32}),
        json.dumps({A: "0" * 32 + "\n"}),
        json.dumps({f"{A}\nerror: x": "0" * 32}),
        "x" * (states.MAX_BYTES + 1),
    ):
        assert states.parse(bad) == {}, bad


def test_encode_is_sorted_and_empty_when_not_known():
    assert states.encode({}) == ""
    assert states.encode({B: "b" * 8, A: "a" * 8}) == json.dumps(
        {A: "a" * 8, B: "b" * 8}, separators=(",", ":")
    )


def test_changed_names_the_removed_and_the_changed_classes_only():
    live = {ROOT: "0" * 32, A: "a" * 32, B: "b" * 32}
    assert states.changed(live, {**live, f"{ROOT}.c": "c" * 32}) == []  # added: compatible
    assert states.changed(live, {ROOT: "0" * 32, A: "f" * 32}) == [A, B]
    assert states.changed({}, live) == [] and states.changed(live, {}) == []  # not known


def test_names_shows_the_states_own_part():
    assert states.names([A, B]) == "app___app____a, app___app____b"
    many = [f"{ROOT}.s{i}" for i in range(10)]
    assert states.names(many, most=2) == "s0, s1 and 8 more"


def test_a_build_reads_its_states_file(tmp_path):
    made = build.Build(key="k", dir=tmp_path, cached=False)
    assert made.state_schema == ""
    (tmp_path / states.FILE).write_text(json.dumps({A: "a" * 32}))
    assert made.state_schema == states.encode({A: "a" * 32})
    (tmp_path / states.FILE).write_text("{garbage")
    assert made.state_schema == ""
