"""`--write` never loses a save made meanwhile, and keeps the file's owner, group, links and mode.

The swap is checked at each step where another program may save: before the last comparison,
between it and the swap (in place or by rename), with and without an atomic exchange; and a
stress test runs writers in threads, saving at random moments while files are written.
"""

from __future__ import annotations

import os
import random
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from codemods import exchange as exchange_module
from codemods import files
from codemods.exchange import ExchangeUnsupported
from codemods.files import SourceFile, read_source, write_result
from codemods.model import FileResult
from tests.conftest import run_cli

OLD = 'app.send_task("proj.celery.add")\n'
NEW = 'app.send_task("proj.celery.add", queue="q")\n'
WORKER = 'from celery import Celery\napp = Celery("p")\n@app.task(queue="q")\ndef add(): pass\n'
PADDING = "# padding\n" * 5000
USER_EDIT = "# saved by the user\n"


def read(path: Path) -> SourceFile:
    source = read_source(path)
    assert isinstance(source, SourceFile)
    return source


def result_for(path: Path, old: str = OLD, new: str = NEW) -> FileResult:
    return FileResult(str(path), old, new)


def save_in_place(path: Path) -> None:
    with open(path, "a") as out:
        out.write(USER_EDIT)


def save_by_rename(path: Path) -> None:
    temp = path.with_name(path.name + ".editor-swap")
    temp.write_text(path.read_text() + USER_EDIT)
    os.replace(temp, path)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.fixture
def target(tmp_path: Path) -> Path:
    path = tmp_path / "calls.py"
    path.write_text(OLD)
    return path


@pytest.fixture
def no_exchange(monkeypatch: pytest.MonkeyPatch) -> None:
    """A system without an atomic exchange: the hard-link fallback is used."""

    def unsupported(first: object, second: object) -> None:
        raise ExchangeUnsupported("not here")

    monkeypatch.setattr(files, "exchange", unsupported)


def save_just_before_exchange(
    monkeypatch: pytest.MonkeyPatch, save: Callable[[Path], None], path: Path
) -> None:
    """The save lands after the last comparison, right before the swap."""
    real = exchange_module.exchange
    calls = []

    def exchange(first: Path, second: Path) -> None:
        if not calls:
            save(path)
        calls.append((first, second))
        real(first, second)

    monkeypatch.setattr(files, "exchange", exchange)


# --- the swap -----------------------------------------------------------------------------------


def test_write_replaces_the_file_and_leaves_nothing_behind(target: Path) -> None:
    assert write_result(result_for(target), read(target)) is None
    assert target.read_text() == NEW
    assert leftovers(target.parent) == []


def test_a_save_in_place_just_before_the_swap_is_put_back(
    target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = read(target)
    save_just_before_exchange(monkeypatch, save_in_place, target)
    failure = write_result(result_for(target), source)
    assert failure is not None and failure.code == "write-error"
    assert "your version was put back" in failure.message
    assert target.read_text() == OLD + USER_EDIT
    assert leftovers(target.parent) == []


def test_a_save_by_rename_just_before_the_swap_is_put_back(
    target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = read(target)
    save_just_before_exchange(monkeypatch, save_by_rename, target)
    failure = write_result(result_for(target), source)
    assert failure is not None and "put back" in failure.message
    assert target.read_text() == OLD + USER_EDIT
    assert leftovers(target.parent) == []


def test_a_save_after_the_first_comparison_is_seen_by_the_last(
    target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = read(target)
    real = files._temporary_copy

    def copy_then_save(*args: object) -> Path:
        temp = real(*args)  # type: ignore[arg-type]
        save_in_place(target)
        return temp

    monkeypatch.setattr(files, "_temporary_copy", copy_then_save)
    failure = write_result(result_for(target), source)
    assert failure is not None and "changed since it was read" in failure.message
    assert target.read_text() == OLD + USER_EDIT
    assert leftovers(target.parent) == []


@pytest.mark.usefixtures("no_exchange")
def test_without_exchange_a_save_before_the_rename_is_put_back(
    target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = read(target)
    real = files._link_beside
    replace = os.replace

    def link_then_save(path: Path) -> Path | None:
        backup = real(path)

        def save_then_replace(first: Path, second: Path) -> None:
            monkeypatch.setattr(os, "replace", replace)
            save_in_place(target)  # in place: the hard link sees it
            replace(first, second)

        monkeypatch.setattr(os, "replace", save_then_replace)
        return backup

    monkeypatch.setattr(files, "_link_beside", link_then_save)
    failure = write_result(result_for(target), source)
    assert failure is not None and "put back" in failure.message
    assert target.read_text() == OLD + USER_EDIT
    assert leftovers(target.parent) == []


@pytest.mark.usefixtures("no_exchange")
def test_without_exchange_the_file_is_written(target: Path) -> None:
    assert write_result(result_for(target), read(target)) is None
    assert target.read_text() == NEW
    assert leftovers(target.parent) == []


def test_a_file_replaced_by_an_identical_copy_is_not_overwritten(target: Path) -> None:
    """Same bytes, new inode (a save by rename that changed nothing): the stamp tells."""
    source = read(target)
    save_by_rename(target)
    target.write_text(OLD)  # the editor's new file, with the old bytes
    failure = write_result(result_for(target), source)
    assert failure is not None and "changed since it was read" in failure.message


# --- metadata: owner, group, hard links, read-only ----------------------------------------------


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_owner_and_group_are_kept_when_written_as_root(target: Path) -> None:
    os.chown(target, 1234, 2345)
    assert write_result(result_for(target), read(target)) is None
    info = target.stat()
    assert (info.st_uid, info.st_gid) == (1234, 2345)
    assert target.read_text() == NEW


def test_owner_and_group_and_mode_are_kept(target: Path) -> None:
    target.chmod(0o640)
    before = target.stat()
    assert write_result(result_for(target), read(target)) is None
    after = target.stat()
    assert (after.st_uid, after.st_gid, after.st_mode) == (
        before.st_uid,
        before.st_gid,
        before.st_mode,
    )


def test_an_owner_that_cannot_be_kept_is_refused_unless_forced(
    target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = target.stat()
    real_fstat = os.fstat

    def foreign_owner(fd: int) -> os.stat_result:  # the new file would belong to someone else
        values = list(real_fstat(fd))
        values[4] = info.st_uid + 1
        return os.stat_result(values)

    def not_permitted(fd: int, uid: int, gid: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(files.os, "fchown", not_permitted)
    source = read(target)
    monkeypatch.setattr(files.os, "fstat", foreign_owner)
    failure = write_result(result_for(target), source)
    assert failure is not None and "owner and group" in failure.message
    assert "--force-write" in failure.message
    assert target.read_text() == OLD
    assert leftovers(target.parent) == []
    assert write_result(result_for(target), source, force=True) is None
    assert target.read_text() == NEW


def test_a_hard_linked_file_is_refused_unless_forced(target: Path) -> None:
    other = target.with_name("other_name.py")
    os.link(target, other)
    source = read(target)
    failure = write_result(result_for(target), source)
    assert failure is not None and "2 hard links" in failure.message
    assert target.read_text() == OLD == other.read_text()
    assert write_result(result_for(target), read(target), force=True) is None
    assert target.read_text() == NEW
    assert other.read_text() == OLD


def test_a_read_only_file_is_refused_unless_forced(target: Path) -> None:
    target.chmod(0o444)
    failure = write_result(result_for(target), read(target))
    assert failure is not None and "read-only" in failure.message
    assert target.read_text() == OLD
    assert write_result(result_for(target), read(target), force=True) is None
    assert target.read_text() == NEW
    assert target.stat().st_mode & 0o777 == 0o444


def _project(tmp_path: Path) -> None:
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "__init__.py").write_text("")
    (tmp_path / "proj" / "celery.py").write_text(WORKER)


def test_cli_refuses_links_and_read_only_files_and_force_write_writes_them(
    tmp_path: Path, in_dir: Callable[[Path], Path]
) -> None:
    _project(tmp_path)
    in_dir(tmp_path)
    (tmp_path / "ro.py").write_text(OLD)
    (tmp_path / "ro.py").chmod(0o444)
    (tmp_path / "linked.py").write_text(OLD)
    os.link(tmp_path / "linked.py", tmp_path / "linked_too.py")
    refused = run_cli("fix", "--write", "ro.py", "linked.py", "--workers", "proj", "--no-cache")
    assert refused.exit_code == 1
    assert "ro.py:1: error write-error: not written: the file is read-only" in refused.stderr
    assert "linked.py:1: error write-error: not written: the file has 2 hard links" in (
        refused.stderr
    )
    assert (tmp_path / "ro.py").read_text() == OLD == (tmp_path / "linked.py").read_text()
    forced = run_cli(
        "fix", "--write", "--force-write", "ro.py", "linked.py", "--workers", "proj", "--no-cache"
    )
    assert forced.exit_code == 0, forced.stderr
    assert "queue=" in (tmp_path / "ro.py").read_text()
    assert "queue=" in (tmp_path / "linked.py").read_text()
    assert (tmp_path / "linked_too.py").read_text() == OLD
    assert "--force-write" in run_cli("fix", "--help").stdout


# --- concurrent writers -------------------------------------------------------------------------


@pytest.fixture
def fine_grained_threads() -> Iterator[None]:
    """Switch threads as often as possible, so that saves land anywhere in the write."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)


class Timeline:
    """When the tool swapped the files (to classify a save that races the final comparison)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.swapped_at: int | None = None
        real = exchange_module.exchange

        def exchange(first: Path, second: Path) -> None:
            real(first, second)
            if self.swapped_at is None:
                self.swapped_at = time.monotonic_ns()

        monkeypatch.setattr(files, "exchange", exchange)


def in_place_writer(path: Path, delay: float, record: dict[str, int]) -> None:
    time.sleep(delay)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, USER_EDIT.encode())
        record["written_at"] = time.monotonic_ns()
        record["inode"] = os.fstat(fd).st_ino
    finally:
        os.close(fd)


def rename_writer(path: Path, delay: float, record: dict[str, int]) -> None:
    time.sleep(delay)
    save_by_rename(path)
    record["written_at"] = time.monotonic_ns()


@pytest.mark.usefixtures("fine_grained_threads")
@pytest.mark.parametrize("writer", [in_place_writer, rename_writer])
def test_concurrent_saves_are_never_lost(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    writer: Callable[[Path, float, dict[str, int]], None],
) -> None:
    """A writer thread saves at a random moment while the file is written, 150 times. The save
    is never lost: it ends up in the file, alone (the write was refused and nothing of the
    tool's is there) or after the tool's change (it landed after the swap).

    The one exception, documented in README.md: a program that opened the file before the swap
    and writes into it after the final comparison writes into the replaced file. A lost in-place
    save is accepted only when its write came after the swap and went to the replaced inode."""
    rng = random.Random(20240607)
    outcomes = {"refused": 0, "saved after": 0, "saved over": 0, "in the window": 0}
    for trial in range(150):
        path = tmp_path / f"calls{trial}.py"
        old = OLD + PADDING
        path.write_text(old)
        original_inode = path.stat().st_ino
        source = read(path)
        timeline = Timeline(monkeypatch)
        record: dict[str, int] = {}
        thread = threading.Thread(target=writer, args=(path, rng.uniform(0, 0.004), record))
        thread.start()
        failure = write_result(result_for(path, old, NEW + PADDING), source)
        thread.join()
        final = path.read_text()
        if USER_EDIT not in final:
            window = (
                writer is in_place_writer
                and record.get("inode") == original_inode
                and timeline.swapped_at is not None
                and record["written_at"] > timeline.swapped_at
            )
            assert window, f"trial {trial}: the user's save was lost ({failure})"
            outcomes["in the window"] += 1
        elif failure is not None:
            assert final == old + USER_EDIT, f"trial {trial}: {failure.message}"
            outcomes["refused"] += 1
        elif final.startswith(NEW):
            outcomes["saved after"] += 1
        elif final == old + USER_EDIT and writer is rename_writer:
            outcomes["saved over"] += 1  # the editor's rename replaced the tool's file
        else:
            raise AssertionError(f"trial {trial}: written, yet the file is {final[:80]!r}")
        assert leftovers(tmp_path) == []
    print(outcomes)
