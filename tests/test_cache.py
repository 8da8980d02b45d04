"""The scan cache and parallel scanning never change the output."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, run_cli


@pytest.fixture
def demo(tmp_path: Path, in_dir) -> Path:
    work = tmp_path / "demo"
    shutil.copytree(FIXTURES / "demo", work, ignore=shutil.ignore_patterns("expected.*"))
    return in_dir(work)


def outputs(*args: str) -> tuple[int, bytes, str]:
    result = run_cli("fix", "--format", "json", *args)
    return result.exit_code, result.stdout_bytes, result.stderr


def test_warm_run_equals_cold_run_and_reads_only_the_cache(demo: Path, private_cache: Path) -> None:
    cold = outputs("--no-cache")
    assert not private_cache.exists(), "--no-cache writes nothing"
    first = outputs()
    assert first == cold
    assert list(private_cache.glob("cache-*.sqlite")), "the cache lives under XDG_CACHE_HOME"
    assert not [p for p in demo.rglob("*") if "cache" in p.name], "nothing lands in the tree"
    warm = outputs()
    assert warm == cold


def test_editing_an_imported_constant_is_seen_by_a_warm_run(demo: Path) -> None:
    (demo / "worker" / "proj" / "names.py").write_text("MAIL_QUEUE = 'mail'\n")
    emails = demo / "worker" / "proj" / "emails.py"
    emails.write_text(
        emails.read_text()
        .replace('queue="mail"', "queue=MAIL_QUEUE")
        .replace(
            "from celery import shared_task",
            "from celery import shared_task\n\nfrom proj.names import MAIL_QUEUE",
        )
    )
    outputs()  # fill the cache
    (demo / "worker" / "proj" / "names.py").write_text("MAIL_QUEUE = 'mail-v2'\n")
    warm = outputs()
    cold = outputs("--no-cache")
    assert warm == cold
    assert b'"queue": "mail-v2"' in warm[1]


def test_a_file_rewritten_within_the_same_second_is_scanned_again(demo: Path) -> None:
    """A file whose size and mtime did not change is trusted, unless it was modified within two
    seconds of the cache being written (coarse mtimes): then its content is compared."""
    jobs = demo / "producers" / "batch" / "jobs.py"
    jobs.touch()
    outputs()
    stat = jobs.stat()
    text = jobs.read_text()
    changed = text.replace('"proj.reports.cleanup_reports"', '"proj.reports.cleanup_report"')
    assert len(changed) != len(text)
    changed = text.replace('"proj.reports.cleanup_reports"', '"proj.reports.cleanup_reportz"')
    assert len(changed) == len(text)
    jobs.write_text(changed)
    os.utime(jobs, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size and mtime, new content
    assert outputs() == outputs("--no-cache")
    assert b"cleanup_reportz" in outputs()[1]


def test_the_cache_follows_the_working_directory(demo: Path, in_dir) -> None:
    """Paths are shown relative to where the tool runs: a cache filled elsewhere must not leak."""
    outputs()
    in_dir(demo.parent)
    result = run_cli("fix", "demo", "--check")
    assert "would rewrite demo/producers/api/views.py" in result.stderr


def test_jobs_do_not_change_the_output(tmp_path: Path, in_dir) -> None:
    work = tmp_path / "many"
    shutil.copytree(FIXTURES / "demo", work, ignore=shutil.ignore_patterns("expected.*"))
    for i in range(150):  # over the threshold where workers start
        folder = work / "producers" / f"team{i % 7}"
        folder.mkdir(exist_ok=True)
        (folder / f"calls_{i}.py").write_text(
            f"from celery import current_app\n\ndef run_{i}(x):\n"
            f"    current_app.send_task('proj.billing.charge', args=[x, {i}])\n"
            f"    current_app.send_task('proj.emails.send_welcom', args=[x])\n"
        )
    in_dir(work)
    serial = outputs("--no-cache", "--jobs", "1")
    parallel = outputs("--no-cache", "--jobs", "2")
    cached = outputs("--jobs", "2")
    warm = outputs("--jobs", "2")
    assert serial == parallel == cached == warm
    assert serial[1].count(b'"task": "proj.billing.charge"') == 152


def test_a_warm_run_pays_for_neither_libcst_nor_gitpython(demo: Path) -> None:
    """Fully cached, nothing is parsed or edited again: the heavy imports never happen."""
    import subprocess
    import sys

    def imported(*args: str) -> set[str]:
        result = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "codemods", "fix", "--check", *args],
            cwd=demo, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert result.returncode == 1, result.stderr
        return {line.split("|")[-1].strip() for line in result.stderr.splitlines() if "|" in line}

    cold = imported()
    assert "libcst" in cold and "ast" in cold
    warm = imported()
    assert not {name for name in warm if name.split(".")[0] in ("libcst", "git")}
    assert "codemods.scan" not in warm, "nothing was scanned again"


def test_a_damaged_or_unwritable_cache_only_costs_speed(demo: Path, private_cache: Path) -> None:
    cold = outputs("--no-cache")
    outputs()
    for database in private_cache.glob("cache-*.sqlite*"):
        database.write_bytes(b"this is not a database")
    damaged = run_cli("fix", "--format", "json")
    assert damaged.stdout_bytes == cold[1]
    assert "celery-codemod: cache not used" in damaged.stderr
    blocked = demo.parent / "not-a-folder"
    blocked.write_text("a file where the cache folder's parent should be")
    unusable = run_cli("fix", "--format", "json", "--cache-dir", str(blocked / "cache"))
    assert unusable.stdout_bytes == cold[1]
    assert "celery-codemod: cache not used" in unusable.stderr
