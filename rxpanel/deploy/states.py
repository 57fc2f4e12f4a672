"""A release's Reflex state classes, as the store sees them: {full name: schema hash}.

Reflex (0.10+) pickles each state class into the state store with `_to_schema()`, a
hash of its field names and types; when the hash a tab's stored state carries is not
the loaded class's, it silently starts that substate fresh, so a deploy that changed
some classes leaves open tabs with old state next to new. The build's compile step
writes the map (frontend.STATES); it is written by the app's code, so it is read
defensively: names and hex hashes only, nothing else is kept. An empty map is "not
known" (an older Reflex, a compile that fell back to `reflex export`): no check."""

from __future__ import annotations

import json
import re

FILE = "states.json"  # in the build's output dir
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,299}")
HASH = re.compile(r"[0-9a-f]{8,128}")
MAX = 5000  # classes kept; more is not an app's state tree
MAX_BYTES = 2_000_000

# Written to argv[1] by the build venv's python once the app is compiled (appended
# to frontend.COMPILE): every state class under rx.State, recursively. Guarded: an
# older Reflex without _to_schema, or any error, records nothing.
DUMP = """\
def _rxpanel_states(path):
    try:
        import json
        import reflex as rx
        root = rx.State
        if not hasattr(root, "_to_schema"):
            return
        found, todo, seen = {}, [root], set()
        while todo:
            cls = todo.pop()
            if cls in seen:
                continue
            seen.add(cls)
            found[cls.get_full_name()] = cls._to_schema()
            todo.extend(cls.get_substates())
        with open(path, "w") as f:
            json.dump(found, f, sort_keys=True)
    except Exception:
        pass
if len(sys.argv) > 1:
    _rxpanel_states(sys.argv[1])
"""


def parse(text: str | bytes | None) -> dict[str, str]:
    """The map of a states file (or of a release's record); {} when it is not one."""
    if not text or len(text) > MAX_BYTES:
        return {}
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        return {}
    if not isinstance(data, dict) or len(data) > MAX:
        return {}
    out = {}
    for name, digest in data.items():
        if not (isinstance(name, str) and isinstance(digest, str)):
            return {}
        if not (NAME.fullmatch(name) and HASH.fullmatch(digest)):
            return {}
        out[name] = digest
    return out


def encode(states: dict[str, str]) -> str:
    """For the release's record: "" when not known."""
    return json.dumps(dict(sorted(states.items())), separators=(",", ":")) if states else ""


def changed(live: dict[str, str], new: dict[str, str]) -> list[str]:
    """The live release's classes the new one removed or changed, sorted (added ones
    are compatible: their state starts fresh anyway). [] when either is not known."""
    if not live or not new:
        return []
    return sorted(name for name, digest in live.items() if new.get(name) != digest)


def short(name: str) -> str:
    """reflex___state____state.app___app____counter_state -> app___app____counter_state:
    the state's own part (the root rx.State prefix says nothing)."""
    return name.split(".", 1)[1] if "." in name else name


def names(classes: list[str], most: int = 8) -> str:
    shown = [short(c) for c in classes[:most]]
    more = len(classes) - most
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")
