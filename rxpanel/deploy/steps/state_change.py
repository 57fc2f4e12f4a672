"""State classes that changed between the live release and the one going live.

Both colours share the app's state store, so a tab's state outlives a deploy. If the
new release removed a state class or changed its fields (deploy/states.py), Reflex
would start just those substates fresh and keep the others: a tab with old state
next to new. The app's choice (AppSettings.on_state_change):
- reset: right after the switch, its stored state is cleared (FLUSHDB of the app's
  own Redis) and again after the cutover (the old colour's tabs may write while they
  drain), so every open tab starts afresh on the new release;
- refuse: the deploy fails before it migrates or starts anything, naming the classes.
A rollback always resets: it is the way back and is not refused. When either
release's classes are not known (an older Reflex, a release built before this
check) nothing is compared."""

from __future__ import annotations

from rxpanel.deploy import states
from rxpanel.deploy.commands import store
from rxpanel.deploy.fleet import Target
from rxpanel.deploy.journal import DeployFailed
from rxpanel.deploy.plan import ReleaseInfo
from rxpanel.deploy.recipe import Run
from rxpanel.deploy.steps import cutover, source


def live(run: Run) -> ReleaseInfo | None:
    """The release live before this run, if it is not the one going live."""
    current = run.app.current_release_id
    if not current or (run.release is not None and run.release.id == current):
        return None
    return next((r for r in run.plan.releases if r.id == current), None)


def applies(run: Run) -> bool:
    return run.plan.shared_state and live(run) is not None


def refuses(run: Run) -> bool:
    return run.plan.kind == "deploy" and run.app.on_state_change == "refuse" and applies(run)


def new_schema(run: Run) -> str:
    """The state classes of the release going live: a new build's once it compiled
    (this waits for the compile), else what its release recorded."""
    if run.plan.kind == "deploy" and run.building is not None and source.building_new(run):
        return getattr(run.building.done.result(), "state_schema", "")
    return run.release.state_schema if run.release is not None else ""


def changed(run: Run) -> list[str]:
    """The live release's classes the new one removed or changed ([] compatible or unknown)."""
    if run.state_change is None:
        before = live(run)
        old = states.parse(before.state_schema if before else "")
        run.state_change = states.changed(old, states.parse(new_schema(run)))
    return run.state_change


def refusal(run: Run, classes: list[str]) -> str:
    before = live(run)
    return (
        f"state classes {states.names(classes)} changed since release {before.id} "
        "(removed, or their fields changed) and the app refuses such a deploy "
        "(--on-state-change refuse): the previous release keeps serving. Deploy with "
        "--on-state-change reset to clear the stored state of open tabs at the switch, "
        "or keep those classes' fields compatible"
    )


def check(run: Run) -> None:
    """Before the migration: refuse a deploy whose state classes changed."""
    with run.log.step("state check"):
        classes = changed(run)
        if classes:
            raise DeployFailed(refusal(run, classes))
        _compatible(run)


def _compatible(run: Run) -> None:
    before = live(run)
    known = states.parse(before.state_schema) and states.parse(new_schema(run))
    if known:
        run.log.line(f"state compatible with release {before.id}")
    else:
        run.log.line(
            f"state compatibility with release {before.id} not checked: the state classes "
            "of one of them are not known (built before this check, or by a Reflex "
            "without _to_schema)"
        )


def reset(run: Run) -> None:
    """Right after the switch: clear the stored state if the classes changed."""
    with run.log.step("state"):
        classes = changed(run)
        if not classes:
            if not refuses(run):  # the check said it already
                _compatible(run)
            return
        said = states.names(classes)
        if not run.plan.managed_store:
            run.log.line(
                f"warning: state classes {said} changed, but the state store is the app's "
                "own (REFLEX_REDIS_URL): it was not cleared, open tabs may mix old and new "
                "state until they reload",
                "error",
            )
            return
        if clear(run):
            run.state_cleared = True
            run.log.line(f"state classes {said} changed: the stored state of open tabs was cleared")


def clear(run: Run) -> bool:
    """FLUSHDB of the app's store on every server; problems are logged, not fatal
    (the new release serves). True when every server's store was cleared."""
    failed: list[str] = []

    def one(t: Target) -> None:
        try:
            t.run(store.flush(t.layout), "clearing the stored state")
        except DeployFailed as e:
            failed.append(t.name)
            run.log.line(f"warning: {t.tag}{e}", "error")

    run.each(one, "clearing the stored state")
    return not failed


def cleared_before_cutover(run: Run) -> bool:
    return run.state_cleared and cutover.applies(run)


def clear_again(run: Run) -> None:
    """After the cutover: what the old colour's tabs wrote while they drained goes too."""
    with run.log.step("state"):
        if clear(run):
            run.log.line("the state the old colour's tabs wrote while they drained was cleared too")
