"""Public Reflex apps nobody on this team wrote, each at a fixed commit: the
compatibility corpus of issue 11 (bench/compat.py deploys them all; the suite
deploys the vendored copies under tests/fixtures/corpus/).

A repository comes from a local mirror (the search tool's `fetch` writes
/work/.mirror/<owner>+<name>/repo); `materialise` turns one app of it into a
fresh git repository holding just that app, unchanged."""

from __future__ import annotations

import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

MIRROR = Path("/work/.mirror")


@dataclass(frozen=True)
class CorpusApp:
    name: str
    repo: str  # owner/name on GitHub
    commit: str
    subdir: str  # "." for the repository's root
    features: str

    def mirror(self, root: Path = MIRROR) -> Path:
        return root / self.repo.replace("/", "+") / "repo"


EXAMPLES, TEMPLATES = "reflex-dev/reflex-examples", "reflex-dev/templates"
CORPUS = [
    CorpusApp(
        "gestion",
        "gedemcl/Gesti-n-de-Proyectos-Web",
        "6ab16ad16158",
        ".",
        "reflex==0.7.8a1, rx.Model with create_all at import, implicit reflex.db, "
        "alembic/ without alembic.ini, dynamic route",
    ),
    CorpusApp(
        "twitter",
        EXAMPLES,
        "e5e011592ff2",
        "twitter",
        "reflex>=0.7.8, rx.Model, implicit reflex.db, auth state",
    ),
    CorpusApp(
        "lorem-stream",
        EXAMPLES,
        "e5e011592ff2",
        "lorem-stream",
        "reflex>=0.7.8, background tasks, reflex-chakra (peer deps)",
    ),
    CorpusApp(
        "osint",
        "idorenyinbassey/Ethical-OSINT-Tracker",
        "9a51f12",
        ".",
        "reflex==0.8.20, rx.upload, alembic.ini, its own SQLAlchemy engine (DB_URL)",
    ),
    CorpusApp(
        "upload",
        EXAMPLES,
        "f890fd45527",
        "upload",
        "reflex>=0.8.0, rx.upload, db_url sqlite:///reflex.db",
    ),
    CorpusApp(
        "basic-crud",
        EXAMPLES,
        "f890fd45527",
        "basic_crud",
        "reflex>=0.8.0, FastAPI api_transformer (/products), background task, rx.Model",
    ),
    CorpusApp(
        "data-vis",
        EXAMPLES,
        "f890fd45527",
        "data_visualisation",
        "reflex>=0.8.0, rx.Model, db_url from DATABASE_URL or sqlite",
    ),
    CorpusApp(
        "customer-data",
        TEMPLATES,
        "8e8b78020dfb",
        "customer_data_app",
        "reflex[db]>=0.9.0a3, rx.Model/rx.session, db_url from DATABASE_URL or sqlite",
    ),
]


def materialise(app: CorpusApp, dest: Path, mirror_root: Path = MIRROR) -> Path:
    """A new git repository at dest holding the app's files at its commit."""
    git_dir = app.mirror(mirror_root)
    if not git_dir.exists():
        raise SystemExit(
            f"{app.repo} is not mirrored at {git_dir}: fetch it first (the search tool's "
            f"fetch github:{app.repo}), or pass --mirror DIR"
        )
    dest.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "app.tar"
        paths = [] if app.subdir == "." else [app.subdir]
        with archive.open("wb") as out:
            subprocess.run(
                ["git", "--git-dir", str(git_dir), "archive", app.commit, *paths],
                stdout=out,
                check=True,
            )
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        root = Path(tmp) if app.subdir == "." else Path(tmp) / app.subdir
        for child in root.iterdir():
            if child.name != "app.tar":
                child.rename(dest / child.name)
    env = {"GIT_AUTHOR_NAME": "corpus", "GIT_AUTHOR_EMAIL": "corpus@example.com"}
    env |= {"GIT_COMMITTER_NAME": "corpus", "GIT_COMMITTER_EMAIL": "corpus@example.com"}
    for argv in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "add", "-A"],
        ["git", "commit", "-q", "-m", f"{app.repo}@{app.commit}:{app.subdir}"],
    ):
        subprocess.run(argv, cwd=dest, check=True, env={"PATH": "/usr/bin:/bin", **env})
    return dest
