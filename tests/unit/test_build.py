"""The local build's environment: what the app's `reflex export` may see."""

from __future__ import annotations

import sys

import pytest

from rxpanel.deploy import build, local
from rxpanel.deploy.build_reason import failure_reason


def test_the_panels_own_settings_do_not_reach_the_apps_build(monkeypatch):
    # inside `reflex run`, the panel's process carries these for itself
    for name, value in {
        "__REFLEX_SKIP_COMPILE": "True",
        "__REFLEX_COMPILE_CONTEXT": "run",
        "REFLEX_ENV_MODE": "prod",
        "REFLEX_BACKEND_PORT": "8000",
        "RXPANEL_SECRET_KEY": "the panel's key",
        "VIRTUAL_ENV": "/panel/.venv",
        "HOME": "/root",
    }.items():
        monkeypatch.setenv(name, value)
    env = local.clean_env()
    assert not [k for k in env if k.startswith(("REFLEX_", "__REFLEX_", "RXPANEL_"))]
    assert "VIRTUAL_ENV" not in env
    assert env["HOME"] == "/root"  # the rest of the environment stays


# --- the reason of a failed build: the cause, not the last line printed ----------

# `reflex export` of an app pinned to reflex==0.8.9 with today's pydantic: the
# import fails inside a context manager, whose cleanup raises again last.
PYDANTIC_V1 = """\
Info: Setting up the app...
Traceback (most recent call last):
  File "/venvs/3f2a/lib/python3.12/site-packages/reflex/utils/prerequisites.py", line 354, in get_and_validate_app
    app_module = get_app(reload=reload)
  File "/venvs/3f2a/lib/python3.12/site-packages/reflex/utils/prerequisites.py", line 322, in get_app
    app = __import__(module, fromlist=(constants.CompileVars.APP,))
  File "/builds/todo/src/todo/todo.py", line 3, in <module>
    import reflex as rx
  File "/venvs/3f2a/lib/python3.12/site-packages/reflex/vars/base.py", line 42, in <module>
    from sqlmodel._compat import SQLModel
  File "/venvs/3f2a/lib/python3.12/site-packages/sqlmodel/_compat.py", line 21, in <module>
    from pydantic.v1 import Discriminator
ImportError: cannot import name 'Discriminator' from 'pydantic.v1' (/venvs/3f2a/lib/python3.12/site-packages/pydantic/v1/__init__.py)

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/venvs/3f2a/bin/reflex", line 8, in <module>
    sys.exit(main())
  File "/usr/lib/python3.12/contextlib.py", line 158, in __exit__
    self.gen.throw(typ, value, traceback)
RuntimeError: generator didn't stop after throw()
"""

# reflex==0.8.17 with today's SQLAlchemy (greenlet no longer comes with it).
GREENLET = """\
Compiling: ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ 100% 21/21 0:00:01
Traceback (most recent call last):
  File "/venvs/9c1d/lib/python3.12/site-packages/sqlalchemy/util/concurrency.py", line 65, in _not_implemented
    raise ValueError(
ValueError: the greenlet library is required to use this function. No module named 'greenlet'

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/venvs/9c1d/lib/python3.12/site-packages/reflex/reflex.py", line 540, in export
    _export.export(
sqlalchemy.exc.InvalidRequestError: could not initialize the async engine
"""

# The frontend bundle: npm prints its own marked error among noise lines.
NPM = """\
> build
> react-router build

vite v6.3.5 building for production...
✓ 112 modules transformed.
npm error code 1
npm error path /builds/shop/src/.web
npm error command failed
npm error Could not resolve "./components/missing.jsx" from "app/routes/_index.jsx"
npm error A complete log of this run can be found in: /root/.npm/_logs/debug-0.log
Exiting.
"""


def test_the_reason_is_the_first_exception_of_a_chained_traceback():
    reason = failure_reason(PYDANTIC_V1.splitlines())
    assert reason.startswith("ImportError: cannot import name 'Discriminator' from 'pydantic.v1'")


def test_the_reason_is_the_cause_when_the_traceback_says_direct_cause():
    assert failure_reason(GREENLET.splitlines()) == (
        "ValueError: the greenlet library is required to use this function. "
        "No module named 'greenlet'"
    )


def test_the_reason_is_the_line_npm_marks_as_the_error():
    assert failure_reason(NPM.splitlines()) == (
        'npm error Could not resolve "./components/missing.jsx" from "app/routes/_index.jsx"'
    )


def test_reflex_error_line_and_ansi_colours():
    lines = ["\x1b[1mCompiling...\x1b[0m", "\x1b[31mError: No rxconfig.py found.\x1b[0m", "bye"]
    assert failure_reason(lines) == "Error: No rxconfig.py found."


def test_without_a_marked_error_the_last_lines_are_the_reason():
    lines = ["one", "", "two", "three", "four"]
    assert failure_reason(lines) == "two | three | four"


def test_a_failed_program_reports_the_cause(tmp_path):
    script = tmp_path / "fail.py"
    script.write_text(f"import sys\nsys.stdout.write({PYDANTIC_V1!r})\nsys.exit(1)\n")
    with pytest.raises(build.BuildError) as err:
        build._run([sys.executable, str(script)], what="reflex export (backend)")
    assert str(err.value) == (
        "reflex export (backend) failed (exit 1): ImportError: cannot import name "
        "'Discriminator' from 'pydantic.v1' "
        "(/venvs/3f2a/lib/python3.12/site-packages/pydantic/v1/__init__.py)"
    )
