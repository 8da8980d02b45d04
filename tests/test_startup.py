"""The command starts without the cyclic garbage collector walking what importing made, leaves
it as it found it, and finds marker files as `os.path.isfile` does."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

from codemods.layout import _is_file, marker_roots
from tests.conftest import FIXTURES, run_cli

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import gc, sys
seen = []
gc.callbacks.append(lambda phase, info: phase == "start" and seen.append(info["generation"]))
sys.argv = ["celery-codemod", "--version"]
from codemods.console import main
try:
    main()
except SystemExit:
    pass
print(len(seen), gc.isenabled(), gc.get_freeze_count() > 0, file=sys.stderr)
"""


def test_the_command_is_the_console_entry() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    assert '\ncelery-codemod = "codemods.console:main"\n' in text


def test_importing_the_cli_runs_no_collection_and_leaves_the_collector_on() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, cwd=ROOT
    )
    collections, enabled, frozen = result.stderr.splitlines()[-1].split()
    assert (enabled, frozen) == ("True", "True")
    # Importing the CLI alone made dozens of young collections and a few older ones.
    assert int(collections) <= 1, result.stderr


def test_a_disabled_collector_stays_disabled() -> None:
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import gc, sys\ngc.disable()\nsys.argv = ['celery-codemod', '--version']\n"
            "from codemods.console import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "assert not gc.isenabled()\n",
        ],
        check=True,
        cwd=ROOT,
        capture_output=True,
    )


def test_a_run_leaves_the_collector_on(tmp_path: Path, in_dir) -> None:
    in_dir(FIXTURES / "demo")
    assert gc.isenabled()
    run_cli("fix", "--check", "--no-cache")
    assert gc.isenabled()
    gc.disable()
    try:
        run_cli("fix", "--check", "--no-cache")
        assert not gc.isenabled(), "a collector turned off by the caller stays off"
    finally:
        gc.enable()


def test_marker_files_are_found_as_isfile_finds_them(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    (tmp_path / "folder").mkdir()
    os.symlink(tmp_path / "file", tmp_path / "link")
    os.symlink(tmp_path / "folder", tmp_path / "folder-link")
    os.symlink(tmp_path / "gone", tmp_path / "broken")
    for name in ("file", "folder", "link", "folder-link", "broken", "missing", "file/below"):
        path = str(tmp_path / name)
        assert _is_file(path) == os.path.isfile(path), name


def test_marker_roots_read_the_packaging_files(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "lib" / "pkg").mkdir(parents=True)
    (project / "lib" / "pkg" / "mod.py").write_text("")
    (project / "setup.cfg").write_text("[options]\npackage_dir =\n    = lib\n")
    real = os.path.realpath(project)
    roots = marker_roots([os.path.join(real, "lib", "pkg", "mod.py")], [real])
    assert roots == {os.path.join(real, "lib"): "setup.cfg"}
