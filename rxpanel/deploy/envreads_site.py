"""Copied into a build as `sitecustomize.py` (envreads.py): records the names of
the env variables the app's own code looks up while its frontend is exported.

Only names (never a value), only lookups whose caller is a file of the app's
source (Reflex and Python read many variables themselves), and the lookup itself
goes on unchanged. Each process writes its names to reads-<pid>.json beside this
file as soon as it reads a new one (a forked child that ends with os._exit still
leaves them). Whatever fails here, the build goes on as if it were not there.

Standard library only: it runs in the app's build venv, before anything else."""

from __future__ import annotations

import json
import os
import sys

if __name__ == "sitecustomize":  # never when rxpanel itself imports this module
    _here = os.path.dirname(os.path.abspath(__file__))
    try:
        import threading

        with open(os.path.join(_here, "envreads.json"), encoding="utf-8") as _f:
            _src = os.path.realpath(json.load(_f)["src"])
        _inside = os.path.join(_src, "")
        _not_the_apps = (os.path.join(_src, ".web", ""), os.path.join(_src, ".venv", ""))
        # the modules between the app's code and the lookup: os.getenv, Mapping.get, ...
        # (by name: in Python >= 3.11 their code is frozen, not from their files)
        _between = {"os", "_collections_abc", "collections.abc", __name__}
        _names: set[str] = set()
        _apps: dict[str, bool] = {}  # a code file -> whether it is the app's
        _lock = threading.Lock()

        def _is_apps(filename: str) -> bool:
            known = _apps.get(filename)
            if known is None:
                path = os.path.realpath(filename)
                known = (
                    not filename.startswith("<")  # <string>, <frozen ...>: no file of the app
                    and path.startswith(_inside)
                    and not path.startswith(_not_the_apps)
                    and "site-packages" not in path
                )
                _apps[filename] = known
            return known

        def _write() -> None:
            path = os.path.join(_here, f"reads-{os.getpid()}.json")
            with open(path + ".tmp", "w", encoding="utf-8") as f:
                json.dump(sorted(_names), f)
            os.replace(path + ".tmp", path)

        def _record(key) -> None:
            try:
                if not isinstance(key, str) or key in _names:
                    return
                frame = sys._getframe(2)
                while frame is not None and frame.f_globals.get("__name__") in _between:
                    frame = frame.f_back
                if frame is None or not _is_apps(frame.f_code.co_filename):
                    return
                with _lock:
                    _names.add(key)
                    _write()
            except Exception:  # noqa: BLE001, S110 - the recorder never changes the app
                pass

        class _Recorded(type(os.environ)):
            """os.environ as it was, each lookup noted first (os.getenv is a get)."""

            __slots__ = ()

            def __getitem__(self, key):
                _record(key)
                return super().__getitem__(key)

            def get(self, key, default=None):
                _record(key)
                return super().get(key, default)

            def __contains__(self, key):
                _record(key)
                return super().__contains__(key)

        os.environ.__class__ = _Recorded
        _write()  # the recorder ran, even if the app reads nothing
    except Exception:  # noqa: BLE001, S110 - no record rather than a broken build
        pass

    # Another sitecustomize (the system's) would have run without this one: run it.
    try:
        import importlib.machinery
        import importlib.util

        _rest = [p for p in sys.path if os.path.abspath(p or ".") != _here]
        _spec = importlib.machinery.PathFinder.find_spec("sitecustomize", _rest)
        if _spec is not None and _spec.loader is not None:
            _next = importlib.util.module_from_spec(_spec)
            _spec.loader.exec_module(_next)
    except Exception:  # noqa: BLE001, S110
        pass
