"""The JSON `results` prints is the same from run to run (Python salts string hashes per
process): evidence at one place is ordered by all it says."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from textwrap import dedent

TASKS = """\
    from celery import Celery

    app = Celery("proj")


    @app.task
    def export(job_id):
        return job_id
"""
VIEWS = """\
    from proj.tasks import export


    def start(job_id):
        result = export.delay(job_id)
        return {"state": result.state, "value": result.get(), "ready": result.ready()}
"""


def test_evidence_on_one_line_keeps_one_order_whatever_the_hash_seed(tmp_path: Path) -> None:
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "__init__.py").write_text("")
    (tmp_path / "proj" / "tasks.py").write_text(dedent(TASKS))
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "views.py").write_text(dedent(VIEWS))
    outputs = set()
    for seed in range(8):
        done = subprocess.run(
            [sys.executable, "-m", "codemods", "results", ".", "--format", "json", "--no-cache"],
            cwd=tmp_path,
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        outputs.add(done.stdout)
    assert len(outputs) == 1
    (task,) = json.loads(outputs.pop())["tasks"]
    details = [e["detail"] for e in task["evidence"] if e["line"] == 6]
    assert details == sorted(details) and len(details) == 3
