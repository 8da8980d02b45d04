"""Property-based tests of `--patches` with real git (hypothesis).

Each example is a repository of producer files in folders whose names have spaces, hyphens,
dots, quotes, backslashes, tabs, newlines, non-ASCII letters and differ only in case, at depths 0 to 4, some with CRLF line endings,
split by directory (`--split-depth` 0 to 3) or by a random CODEOWNERS. The patch set must:
have distinct file names (also where case does not count); hold every changed file exactly once;
apply patch by patch with `git am` on a clean checkout; and, applied together, give the tree
`--write` gives. A second run must give the same bytes.

The quick profile runs by default; the thorough one with `pytest -m slow_property`.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.conftest import run_cli

QUICK = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
THOROUGH = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

WORKER = """from celery import Celery

app = Celery("proj")


@app.task(name="proj.celery.t0", queue="q0")
def t0(*args): pass


@app.task(name="proj.celery.t1", ignore_result=True, priority=3)
def t1(*args): pass


@app.task(name="proj.celery.t2")
def t2(*args): pass


@app.task(name="proj.celery.t3", serializer="json", expires=10)
def t3(*args): pass
"""
SEGMENTS = (
    "svc", "SVC", "api", "a b", "a-b", "a_b", "a--b", "日本", "中国", "Café", "x.y", "root",
    "deep", "-dash", "tab\tname", 'quote"d', "back\\slash", "new\nline",
)  # fmt: skip
FILE_NAMES = ("p.py", "my calls.py", "ü.py", "__init__.py", "x-y.py")
# Segments a CODEOWNERS pattern can name (a space would end the pattern; no escapes).
PATTERN_SEGMENTS = tuple(s for s in SEGMENTS if not any(c in s for c in ' \t\n"\\'))
OWNERS = ("@a", "@org/b", "c@example.com", "@org/c-d")


@dataclass(frozen=True)
class Layout:
    files: dict[str, str]  # repository path -> content
    codeowners: str | None
    split: tuple[str, ...]


@st.composite
def layouts(draw: st.DrawFn) -> Layout:
    paths = draw(
        st.lists(
            st.builds(
                lambda folders, name: "/".join([*folders, name]),
                st.lists(st.sampled_from(SEGMENTS), max_size=4),
                st.sampled_from(FILE_NAMES),
            ),
            min_size=2,
            max_size=10,
            unique=True,
        )
    )
    files = {}
    for path in paths:
        calls = draw(st.lists(st.integers(0, 3), min_size=1, max_size=3))
        body = "from proj.celery import app\n\n" + "".join(
            f'app.send_task("proj.celery.t{k}", args=[{i}])\n' for i, k in enumerate(calls)
        )
        if draw(st.booleans()) and draw(st.booleans()):
            body = body.replace("\n", "\r\n")
        files[path] = body
    if draw(st.integers(0, 2)) > 0:
        return Layout(files, None, ("--split-depth", str(draw(st.integers(0, 3)))))
    rules = draw(
        st.lists(
            st.tuples(
                st.one_of(
                    st.sampled_from(("*", "*.py", "/*/", "**/p.py")),
                    st.sampled_from(PATTERN_SEGMENTS).map(lambda s: f"/{s}/"),
                    st.sampled_from(PATTERN_SEGMENTS).map(lambda s: f"{s}/"),
                    st.tuples(
                        st.sampled_from(PATTERN_SEGMENTS), st.sampled_from(PATTERN_SEGMENTS)
                    ).map(lambda p: f"/{p[0]}/{p[1]}/"),
                ),
                st.lists(st.sampled_from(OWNERS), max_size=2, unique=True),
            ),
            min_size=1,
            max_size=5,
        )
    )
    codeowners = "".join(f"{pattern} {' '.join(owners)}\n" for pattern, owners in rules)
    return Layout(files, codeowners, ("--split-by", "codeowners"))


def git(cwd: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)


def tree_of(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


@pytest.fixture(scope="module", autouse=True)
def hermetic_git(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    config = tmp_path_factory.mktemp("git") / "gitconfig"
    config.write_text("[user]\n\tname = Test\n\temail = test@example.com\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GIT_CONFIG_GLOBAL", str(config))
        patch.setenv("GIT_CONFIG_NOSYSTEM", "1")
        yield


@pytest.fixture
def workdir() -> Iterator[None]:
    here = os.getcwd()
    yield
    os.chdir(here)


def check_patches(layout: Layout) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        repo = base / "repo"
        (repo / "proj").mkdir(parents=True)
        (repo / "proj" / "__init__.py").write_bytes(b"")
        (repo / "proj" / "celery.py").write_text(WORKER)
        for path, text in layout.files.items():
            (repo / path).parent.mkdir(parents=True, exist_ok=True)
            (repo / path).write_bytes(text.encode())
        if layout.codeowners is not None:
            (repo / "CODEOWNERS").write_text(layout.codeowners, encoding="utf-8")
        assert git(repo, "init", "-q", "-b", "main").returncode == 0
        assert git(repo, "add", "-A").returncode == 0
        assert git(repo, "commit", "-q", "-m", "initial").returncode == 0

        os.chdir(repo)
        out = base / "out"
        result = run_cli("fix", "--patches", out, *layout.split, ".")
        assert result.exit_code == 0, result.stderr
        assert "invalid-codeowners" not in result.stderr
        patches = sorted(out.iterdir()) if out.exists() else []
        names = [p.name for p in patches]
        assert len({n.casefold() for n in names}) == len(names), names
        event(f"split {' '.join(layout.split)}")
        event(f"{min(len(names), 3)}{'+' if len(names) >= 3 else ''} patches")
        if any(re.search(r"-[0-9a-f]{8}(-\d+)?\.patch$", n) for n in names):
            event("a name with a hash")
        if any("\r" in text for text in layout.files.values()):
            event("a file with CRLF line endings")

        written = base / "written"
        assert git(base, "clone", "-q", str(repo), str(written)).returncode == 0
        os.chdir(written)
        write = run_cli("fix", "--write", ".")
        assert write.exit_code == 0, write.stderr
        changed = {
            path for path, data in tree_of(written).items() if data != (repo / path).read_bytes()
        }

        clean = base / "clean"
        assert git(base, "clone", "-q", str(repo), str(clean)).returncode == 0
        start = git(clean, "rev-parse", "HEAD").stdout.decode().strip()
        in_patches: list[str] = []
        for patch in patches:  # each alone on a clean checkout
            applied = git(clean, "am", str(patch))
            assert applied.returncode == 0, (patch.name, applied.stderr.decode())
            touched = git(clean, "diff", "--name-only", "-z", start, "HEAD").stdout.decode()
            in_patches.extend(name for name in touched.split("\0") if name)
            assert git(clean, "reset", "-q", "--hard", start).returncode == 0
        assert sorted(in_patches) == sorted(changed), "every changed file is in exactly one patch"

        applied_all = git(clean, "am", *map(str, patches)) if patches else None
        assert applied_all is None or applied_all.returncode == 0
        assert tree_of(clean) == tree_of(written), "together the patches give --write's tree"

        os.chdir(repo)
        again = base / "again"
        run_cli("fix", "--patches", again, *layout.split, ".")
        again_files = {p.name: p.read_bytes() for p in again.iterdir()} if again.exists() else {}
        assert again_files == {p.name: p.read_bytes() for p in patches}


@QUICK
@given(layout=layouts())
def test_patch_properties(layout: Layout, workdir: None) -> None:
    check_patches(layout)


@pytest.mark.slow_property
@THOROUGH
@given(layout=layouts())
def test_patch_properties_thorough(layout: Layout, workdir: None) -> None:
    check_patches(layout)
