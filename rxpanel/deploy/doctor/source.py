"""What the doctor reads from a checked-out source tree, without running any of it:
the requirements (and the Reflex version they pin), the keywords of rxconfig.py's
Config call, and the env names rxconfig.py reads."""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from rxpanel.deploy import resolve
from rxpanel.deploy.sqlite_paths import SKIP_DIRS, USES_DB

UNKNOWN = object()  # a Config keyword whose value is not a literal
GETENV = ("os.getenv", "getenv", "os.environ.get", "environ.get")
ENVIRON = ("os.environ", "environ")
BOUNDS = ("==", "===", "~=", ">=", ">")  # the version a pin or a lower bound names


def requirement_lines(text: str) -> list[str]:
    lines = []
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def parse_requirements(text: str) -> tuple[tuple[Requirement, ...], bool]:
    """The requirements named, and whether some lines say more than names can
    (-r other.txt, -e ., a bare URL): then what is installed is not all known."""
    reqs, opaque = [], False
    for line in requirement_lines(text):
        if line.startswith("-"):
            opaque = opaque or not line.startswith(("--hash", "--index-url", "--extra-index-url"))
            continue
        try:
            reqs.append(Requirement(line.split(" --hash", 1)[0]))
        except InvalidRequirement:
            opaque = True
    return tuple(reqs), opaque


def version_of(req: Requirement | None) -> Version | None:
    """A pin (reflex==0.10.1, ===, ~=) or a lower bound (>=, >); None when unbounded."""
    if req is None or req.url:
        return None
    specs = sorted(
        (s for s in req.specifier if s.operator in BOUNDS), key=lambda s: BOUNDS.index(s.operator)
    )
    for spec in specs:
        try:
            return Version(spec.version.removesuffix(".*"))
        except InvalidVersion:
            return None
    return None


def config_keywords(rxconfig: str) -> dict[str, object]:
    """The keywords of the Config call: literal values, UNKNOWN for the others."""
    try:
        tree = ast.parse(rxconfig)
    except SyntaxError:
        return {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("Config"):
            out: dict[str, object] = {}
            for kw in node.keywords:
                if kw.arg:
                    try:
                        out[kw.arg] = ast.literal_eval(kw.value)
                    except ValueError:
                        out[kw.arg] = UNKNOWN
            return out
    return {}


def env_reads(python: str) -> dict[str, bool]:
    """The env names a module reads by literal name -> whether a read raises when the
    name is not set (os.environ["X"]; os.getenv("X") and .get("X") do not)."""
    try:
        tree = ast.parse(python)
    except SyntaxError:
        return {}
    reads: dict[str, bool] = {}
    for node in ast.walk(tree):
        name, required = None, False
        if isinstance(node, ast.Call) and ast.unparse(node.func) in GETENV and node.args:
            if isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                name = node.args[0].value
        elif isinstance(node, ast.Subscript) and ast.unparse(node.value) in ENVIRON:
            if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
                name, required = node.slice.value, isinstance(node.ctx, ast.Load)
        if name:
            reads[name] = reads.get(name, False) or required
    return reads


@dataclass
class Tree:
    """A checked-out source tree, read once for every check."""

    src: Path
    pinned: str | None = None  # the resolved set (every package pinned), when known
    _modules: dict[str, ast.Module | None] = field(default_factory=dict, repr=False)

    def text(self, rel: str) -> str | None:
        path = self.src / rel
        return path.read_text(errors="replace") if path.is_file() else None

    @cached_property
    def rxconfig(self) -> str | None:
        return self.text("rxconfig.py")

    @cached_property
    def _source(self) -> tuple[str | None, list[str], str]:
        """(the requirements file the build reads, its lines, why there is none)."""
        try:
            origin, lines = resolve.source_of(self.src)
        except resolve.ResolveError as e:
            return None, [], str(e)
        return origin, lines, ""

    @property
    def origin(self) -> str | None:
        """requirements.txt, pyproject.toml or uv.lock (as resolve.source_of picks)."""
        return self._source[0]

    @property
    def no_requirements(self) -> str:
        return self._source[2]

    @property
    def requirements_file(self) -> str:
        """Where a requirement is added: uv.lock's come from pyproject.toml."""
        return "pyproject.toml" if self.origin == "uv.lock" else self.origin or "requirements.txt"

    @cached_property
    def _parsed(self) -> tuple[tuple[Requirement, ...], bool]:
        return parse_requirements("\n".join(self._source[1]))

    @property
    def requirements(self) -> tuple[Requirement, ...]:
        return self._parsed[0]

    @property
    def opaque(self) -> bool:
        """The requirements install more than the names they list (-r, -e, URLs)."""
        return self._parsed[1]

    def requirement(self, name: str) -> Requirement | None:
        wanted = canonicalize_name(name)
        return next((r for r in self.requirements if canonicalize_name(r.name) == wanted), None)

    @property
    def declared(self) -> Version | None:
        """The Reflex version the requirements pin or bound."""
        return version_of(self.requirement("reflex"))

    @property
    def reflex(self) -> Version | None:
        """The Reflex it is built with: the resolved one when known, else the declared."""
        return (resolve.pinned_reflex(self.pinned.encode()) if self.pinned else None) or (
            self.declared
        )

    def pinned_names(self) -> set[str]:
        """The packages of the resolved set (empty when it is not known)."""
        names = set()
        for line in requirement_lines(self.pinned or ""):
            try:
                names.add(canonicalize_name(Requirement(line).name))
            except InvalidRequirement:
                continue
        return names

    @cached_property
    def config(self) -> dict[str, object]:
        return config_keywords(self.rxconfig or "")

    @cached_property
    def python_files(self) -> list[Path]:
        """The app's modules; .web (node_modules), venvs and .git are not walked into."""
        found = []
        for root, dirs, files in os.walk(self.src):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
            found += [Path(root, f) for f in sorted(files) if f.endswith(".py")]
        return found

    @cached_property
    def uses_models(self) -> bool:
        """rx.Model, rx.session or rx.asession appear in a module (as sqlite_paths reads)."""
        return any(
            any(word in p.read_text(errors="replace") for word in USES_DB)
            for p in self.python_files
        )

    def module(self, path: Path) -> ast.Module | None:
        rel = str(path.relative_to(self.src))
        if rel not in self._modules:
            try:
                self._modules[rel] = ast.parse(path.read_text(errors="replace"))
            except (SyntaxError, ValueError):
                self._modules[rel] = None
        return self._modules[rel]

    def modules(self):
        for path in self.python_files:
            module = self.module(path)
            if module is not None:
                yield str(path.relative_to(self.src)), module


def kept_pinned(src: Path, cache_dir: Path) -> str | None:
    """The resolved set a build of these requirements kept in cache_dir, if any."""
    try:
        origin, _lines = resolve.source_of(src)
        kept = resolve.kept_file(src, cache_dir, origin)
        return kept.read_text() if kept.is_file() else None
    except (resolve.ResolveError, OSError):
        return None
