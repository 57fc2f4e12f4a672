"""Which releases retention removes. Pure, on anything shaped like a release (id,
status, live_at, removed_at): the services decide with database rows, the deploy
engine with the plan's frozen records, by the same rule."""

from __future__ import annotations

from datetime import datetime

KEPT = ("ready", "live", "good")  # usable, while its files are on the server


def usable(release) -> bool:
    return release.status in KEPT and release.removed_at is None


def choose_removals(releases: list, current_id: str | None, keep: int) -> list:
    """Keep the `keep` newest usable releases, always the current and the previous
    good one; bad releases do not count and are removed. Pure: decides, deletes nothing."""
    kept_ones = sorted((r for r in releases if usable(r)), key=lambda r: r.id, reverse=True)
    protected = {current_id}
    good = sorted(
        (r for r in kept_ones if r.status == "good" and r.id != current_id),
        key=lambda r: (r.live_at or datetime.min, r.id),
        reverse=True,
    )
    if good:
        protected.add(good[0].id)
    kept = {r.id for r in kept_ones[:keep]} | protected
    return [r for r in releases if r.removed_at is None and r.id not in kept]
