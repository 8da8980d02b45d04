"""A cached module's bindings are kept apart from its scan and decoded only when a name leads
into the module; the result is always the one a cold run gives."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from codemods import cache as cache_module
from codemods.cache import Cache, ModuleBindings, _checksum, bindings_codec
from codemods.discovery import key_maker
from codemods.model import Binding, Branches, ModuleFacts, Ref
from codemods.scan import scan_file
from codemods.symbols import SymbolTable
from tests.conftest import init_repo, run_cli

CELERY = 'from celery import Celery\napp = Celery("proj")\n'
TASKS = (
    "from proj.celery import app\nfrom proj.names import PRIORITY, QUEUE\n\n"
    "@app.task(queue=QUEUE, priority=PRIORITY)\ndef add():\n    pass\n"
)
NAMES = 'QUEUE = "routed"\nPRIORITY = 5\n'  # no hint: read when a name leads into it
SETTINGS = (
    "import os\n\ntask_routes = {'proj.tasks.add': {'queue': 'routed'}}\n"
    "if os.environ.get('X'):\n    DEBUG = True\n"
)
CALLER = 'from proj.celery import app\n\napp.send_task("proj.tasks.add")\n'


def _tree(root: Path) -> Path:
    package = root / "proj"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "celery.py").write_text(CELERY)
    (package / "tasks.py").write_text(TASKS)
    (package / "names.py").write_text(NAMES)
    (package / "settings.py").write_text(SETTINGS)
    (root / "caller.py").write_text(CALLER)
    for i in range(20):  # parsed (a hint), never needed for a name
        (package / f"other{i}.py").write_text(f"def task_{i}():\n    return 'task {i}'\n")
    return root


def _check(*args: str) -> tuple[int, bytes, str]:
    result = run_cli("fix", "--check", "--format", "json", *args)
    assert "Traceback" not in result.stderr
    return result.exit_code, result.stdout_bytes, result.stderr


def _forge_bindings(database: Path, change) -> int:
    """Rewrite the bindings of every scans row with `change`, with a matching checksum."""
    db = sqlite3.connect(database)
    rows = db.execute(
        "SELECT path, variant, digest, payload, bindings, calls, refs FROM scans"
    ).fetchall()
    forged = 0
    for path, variant, digest, payload, bindings, calls, refs in rows:
        if not bindings:
            continue
        new = change(bindings)
        checksum = _checksum(path, variant, digest, payload, new, calls, refs)
        db.execute(
            "UPDATE scans SET bindings = ?, checksum = ? WHERE path = ? AND variant = ?",
            (new, checksum, path, variant),
        )
        forged += 1
    db.commit()
    db.close()
    return forged


def test_a_warm_run_reads_only_the_bindings_a_name_leads_into(
    tmp_path: Path, in_dir, monkeypatch: pytest.MonkeyPatch
) -> None:
    init_repo(in_dir(_tree(tmp_path / "repo")))
    cold = _check("--no-cache")
    assert b"routed-by-config" in cold[1] and b'"priority": 5' in cold[1]
    assert _check() == cold  # fills the cache
    loaded: list[str] = []
    load = cache_module._StoredBindings.load

    def counting(self: cache_module._StoredBindings) -> tuple[object, ...]:
        loaded.append(self.display)
        return load(self)

    monkeypatch.setattr(cache_module._StoredBindings, "load", counting)
    assert _check() == cold
    assert "proj/tasks.py" in loaded, "the task's options are read through its module's names"
    assert "proj/settings.py" in loaded, "a module that may bind task_routes is read"
    assert not [path for path in loaded if "other" in path], loaded


def test_bindings_that_do_not_decode_are_read_again_from_the_file(
    tmp_path: Path, in_dir, private_cache: Path
) -> None:
    init_repo(in_dir(_tree(tmp_path / "repo")))
    cold = _check("--no-cache")
    _check()
    (database,) = private_cache.glob("cache-*.sqlite")
    assert _forge_bindings(database, lambda data: data.replace(b'"Binding"', b'"Nothing"'))
    assert _check() == cold
    assert _forge_bindings(database, lambda data: data[: len(data) // 2])
    assert _check() == cold


def test_damaged_bindings_are_a_miss(tmp_path: Path, in_dir, private_cache: Path) -> None:
    """Without a matching checksum the row is not used at all."""
    init_repo(in_dir(_tree(tmp_path / "repo")))
    cold = _check("--no-cache")
    _check()
    (database,) = private_cache.glob("cache-*.sqlite")
    db = sqlite3.connect(database)
    db.execute("UPDATE scans SET bindings = bindings || X'20'")
    db.commit()
    db.close()
    assert _check() == cold
    assert _check() == cold


def test_a_module_is_known_not_to_bind_a_name_without_decoding_it(tmp_path: Path, in_dir) -> None:
    in_dir(tmp_path)
    source = (
        "import os\nÉTAT = 'é'\nif os.environ.get('X'):\n    from a import b as c\n"
        "class Names:\n    X = 'x'\n"
    )
    (tmp_path / "m.py").write_text(source)
    scan = scan_file(Path("m.py"), module="m", is_package=False, max_size=1 << 20, force=True)
    assert scan.facts is not None
    database = tmp_path / "cache.sqlite"
    writing = Cache(database)
    key = key_maker()("m.py")
    writing.put_scan(key, None, scan, lambda: ("m", False), 1 << 20)
    writing.save()
    reading = Cache(database)
    reading.load([str(tmp_path)], 1 << 20)
    hit = reading.scan(key, "m.py", scan.digest, lambda: ("m", False), 1 << 20, vouched=True)
    assert hit is not None and hit.facts is not None
    assert hit.facts.bindings_apart and hit.facts.bindings == ()
    stored = reading.bindings_apart()["m.py"]
    for name in ("ÉTAT", "c", "Names", "os"):
        assert stored.mentions(name), name
    for name in ("task_routes", "b", "CELERY_ROUTES"):
        assert not stored.mentions(name), name
    assert stored.load() == scan.facts.bindings
    table = SymbolTable.from_facts([hit.facts], apart=reading.bindings_apart())
    assert table.resolve(Ref("m.ÉTAT")) == "é"
    assert table.resolve(Ref("m.Names.X")) == "x"
    assert table.binds("m", "c") and not table.binds("m", "task_routes")
    reading.close()


def test_facts_without_their_bindings_are_refused_by_a_table_not_given_them() -> None:
    facts = ModuleFacts("m", "m.py", bindings_apart=True)
    with pytest.raises(ValueError, match=r"m\.py"):
        SymbolTable.from_facts([facts])


def test_two_files_of_one_module_keep_their_bindings_in_path_order() -> None:
    first = ModuleFacts("m", "a/m.py", bindings=(Binding("X", 1, value="a"),))
    stored = bindings_codec().encode(ModuleBindings((Binding("X", 1, value="b"),)))

    class Apart:
        def load(self) -> tuple[Binding | Branches, ...]:
            return bindings_codec().decode(stored).steps

        def mentions(self, name: str) -> bool:
            return name.encode() in stored

    second = ModuleFacts("m", "b/m.py", bindings_apart=True)
    table = SymbolTable.from_facts([first, second], apart={"b/m.py": Apart()})
    assert table.resolve(table.lookup("m.X")) == "b"
    reversed_table = SymbolTable.from_facts([second, first], apart={"b/m.py": Apart()})
    assert reversed_table.resolve(reversed_table.lookup("m.X")) == "a"
