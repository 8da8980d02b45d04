"""Helpers for before/after tests of the pure rewrite function."""

from __future__ import annotations

import ast
from textwrap import dedent

from codemods.index import index_source
from codemods.linking import build_index
from codemods.model import FileResult, TaskIndex
from codemods.rewrite import rewrite_source
from codemods.symbols import SymbolTable


def make_index(worker_source: str, module: str = "proj.tasks") -> TaskIndex:
    facts = index_source(dedent(worker_source), path="proj/tasks.py", module=module)
    return build_index([facts])


def check_transformed(before: str, after: str, index: TaskIndex, **options: object) -> FileResult:
    before, after = dedent(before), dedent(after)
    ast.parse(after)  # the expectation itself must be valid Python
    result = rewrite_source(before, index, path="producer.py", **options)  # type: ignore[arg-type]
    unsafe = [d for d in result.diagnostics if d.code == "unsafe-rewrite"]
    assert not unsafe, unsafe
    assert (result.new_source or before) == after
    again = rewrite_source(after, index, path="producer.py", **options)  # type: ignore[arg-type]
    assert again.new_source is None, "the rewrite must be idempotent"
    return result


def check_noop(source: str, index: TaskIndex, **options: object) -> FileResult:
    result = rewrite_source(dedent(source), index, path="producer.py", **options)  # type: ignore[arg-type]
    assert result.new_source is None
    return result


def codes(result: FileResult) -> list[tuple[int, str]]:
    return [(d.line, d.code) for d in result.diagnostics]


def index_modules(modules: dict[str, str], **link_options: object) -> tuple[TaskIndex, SymbolTable]:
    """Index several modules at once: {"pkg.mod": source}; "pkg.__init__" is a package."""
    facts = []
    for name, source in modules.items():
        is_package = name.endswith(".__init__")
        module = name.removesuffix(".__init__")
        path = name.replace(".", "/") + ".py"
        facts.append(index_source(dedent(source), path=path, module=module, is_package=is_package))
    table = SymbolTable.from_facts(facts)
    return build_index(facts, symbols=table, **link_options), table  # type: ignore[arg-type]


def task_options(index: TaskIndex) -> dict[str, dict[str, object]]:
    return {name: dict(task.options) for name, task in index.tasks.items()}
