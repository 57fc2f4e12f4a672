"""The script nginx puts into every HTML page of an app (sub_filter), so that a tab
still running the previous release's bundle learns that a new one is live: it polls
the site's no-store /_rxpanel/release and, when the release changes, reloads at a
safe moment (not while the user types, clicks or has just acted: an event may be in
flight) or shows a "new version — reload" notice (the app's choice). The reload keeps
the tab's Reflex token (sessionStorage), so with the shared state store its state is
there after the reload. The app's code is not changed.

It is served by nginx from a `return` string: no `$` (nginx variables) and no single
quote in it."""

from __future__ import annotations

POLL_MS = 4000
QUIET_MS = 2500  # no key, pointer or input event for this long: nothing in flight

SCRIPT = """\
(function () {
  var me = document.currentScript, mine = me && me.dataset.release;
  var mode = (me && me.dataset.mode) || "reload", last = 0, shown = false, poll = null;
  ["keydown", "pointerdown", "input", "wheel"].forEach(function (name) {
    addEventListener(name, function () { last = Date.now(); }, true);
  });
  function typing() {
    var a = document.activeElement;
    return !!a && (a.isContentEditable || /^(INPUT|TEXTAREA|SELECT)/.test(a.tagName));
  }
  function reloadWhenQuiet() {
    if (Date.now() - last < %(quiet)d || typing()) {
      setTimeout(reloadWhenQuiet, 500);
      return;
    }
    location.reload();
  }
  function notice() {
    if (shown) return;
    shown = true;
    var bar = document.createElement("div");
    bar.id = "rxpanel-new-release";
    bar.setAttribute("role", "status");
    bar.style.cssText = "position:fixed;z-index:2147483647;left:50%%;bottom:16px;" +
      "transform:translateX(-50%%);background:#111;color:#fff;padding:10px 16px;" +
      "border-radius:8px;font:14px system-ui,sans-serif;box-shadow:0 4px 16px #0006";
    bar.textContent = "A new version is available. ";
    var b = document.createElement("button");
    b.textContent = "Reload";
    b.style.cssText = "margin-left:8px;font:inherit;cursor:pointer";
    b.onclick = function () { location.reload(); };
    bar.appendChild(b);
    document.body.appendChild(bar);
  }
  function check() {
    fetch("/_rxpanel/release", { cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) {
        if (!j || !j.release || !mine || j.release === mine) return;
        clearInterval(poll);
        if ((j.mode || mode) === "notice") notice(); else reloadWhenQuiet();
      })
      .catch(function () {});
  }
  poll = setInterval(check, %(poll)d);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) check(); });
})();
""" % {"poll": POLL_MS, "quiet": QUIET_MS}  # noqa: UP031 (JS braces)

assert "$" not in SCRIPT and "'" not in SCRIPT  # served from an nginx string


def tag(release: str, mode: str) -> str:
    """What sub_filter puts before </head> (no single quote: it is in an nginx string)."""
    return f'<script src="/_rxpanel/live.js" data-release="{release}" data-mode="{mode}" defer></script>'
