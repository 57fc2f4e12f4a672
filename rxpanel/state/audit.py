"""The audit log (admins only): newest first, filtered, a page at a time.
Reading it is not itself audited."""

from __future__ import annotations

import reflex as rx

from rxpanel import present
from rxpanel.services import audit
from rxpanel.state.auth import AuthState, authorized

PAGE = 100
OUTCOMES = ("any", "ok", "refused", "failed")


def _text(form: dict, key: str) -> str:
    return str(form.get(key) or "").strip()[:120]


class AuditState(AuthState):
    rows: list[dict[str, str]] = []
    actor: str = ""
    action: str = ""
    target: str = ""
    outcome: str = ""
    limit: int = PAGE
    more: bool = False  # a full page came back: there may be older entries
    form_key: int = 0  # changed to give the filter form a fresh start

    def _query(self) -> None:
        found = audit.records(
            actor=self.actor,
            action=self.action,
            target=self.target,
            outcome=self.outcome,
            limit=self.limit,
        )
        self.rows = [present.audit_row(e) for e in found]
        self.more = len(self.rows) >= self.limit

    @rx.event
    @authorized("admin")
    def load(self):
        """A fresh visit starts unfiltered (the filter form starts empty too)."""
        self.actor, self.action, self.target, self.outcome = "", "", "", ""
        self.limit = PAGE
        self._query()

    @rx.event
    @authorized("admin")
    def apply(self, form: dict):
        outcome = _text(form, "outcome")
        self.actor, self.action, self.target = (
            _text(form, "actor"),
            _text(form, "action"),
            _text(form, "target"),
        )
        self.outcome = outcome if outcome in OUTCOMES and outcome != "any" else ""
        self.limit = PAGE
        self._query()

    @rx.event
    @authorized("admin")
    def clear(self):
        self.actor, self.action, self.target, self.outcome = "", "", "", ""
        self.limit, self.form_key = PAGE, self.form_key + 1
        self._query()

    @rx.event
    @authorized("admin")
    def load_more(self):
        self.limit += PAGE
        self._query()
