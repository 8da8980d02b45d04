"""What the golden-case tests share: a case's extra arguments, the comparison with its expected
output, and the fixture that copies a case's tree into a git repository."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import copy_tree, init_repo

UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def case_args(case: Path) -> list[str]:
    extra = case / "args"
    return extra.read_text().split() if extra.exists() else []


def expect(case: Path, name: str, actual: bytes) -> None:
    """`actual` is the case's file `name` (rewritten instead when UPDATE_GOLDEN=1)."""
    # Parse errors name the Python that read the file; the expectations hold for any.
    actual = re.sub(rb"read as Python \d+\.\d+", b"read as Python 3.x", actual)
    expected_file = case / name
    if UPDATE:
        expected_file.write_bytes(actual)
    assert actual == expected_file.read_bytes()


def case_fixture(cases: Sequence[Path]) -> Callable[..., Any]:
    """A fixture over `cases`: (the case folder with its expectations, a git repository holding
    a copy of its tree, the current folder)."""

    @pytest.fixture(params=cases, ids=lambda p: p.name)
    def case(request: pytest.FixtureRequest, tmp_path: Path, in_dir) -> tuple[Path, Path]:
        work = copy_tree(request.param, tmp_path / "work")
        init_repo(work)
        in_dir(work)
        return request.param, work

    return case
