"""Module naming over many files at once gives what naming them one by one gives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from codemods.modname import ModuleNamer


@pytest.mark.parametrize("physical", [True, False])
def test_real_paths_match_real_path_one_by_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, physical: bool
) -> None:
    (tmp_path / "work" / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "other").mkdir()
    if not physical:
        (tmp_path / "work" / "linked").symlink_to(tmp_path / "other")
    monkeypatch.chdir(tmp_path / "work")
    paths = [
        "top.py",
        "pkg/__init__.py",
        "pkg/a.py",
        "pkg/sub/b.py",
        "pkg/c.py",  # a folder seen before, after another one
        "../other/d.py",
        *([] if physical else ["linked/e.py"]),
    ]
    expected = [ModuleNamer(physical=physical).real_path(path) for path in paths]
    assert ModuleNamer(physical=physical).real_paths(paths) == expected
    assert expected[0] == os.path.join(os.path.realpath(tmp_path / "work"), "top.py")
    if not physical:
        assert expected[-1] == os.path.join(os.path.realpath(tmp_path / "other"), "e.py")
