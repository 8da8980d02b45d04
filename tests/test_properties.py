"""Property-based tests of pass 2: `send_task` calls in random formatting (hypothesis).

Each example is a producer module whose `send_task` calls have line breaks between any tokens
inside the brackets, comments in every gap, trailing commas or not, parenthesised and
concatenated names, keywords in any order, positional `args`/`kwargs`, nested calls, several
receivers and block depths, and sometimes CRLF or CR line endings. The rewrite must parse, verify,
be idempotent, add exactly the declared options the call lacks (parity order), keep every
comment and the line endings, and change nothing else.

The quick profile runs by default; the thorough one (2,500 examples) with `pytest -m
slow_property`, which .ci/run does. At the end, one regression test per bug these properties, the
hand-written cases around them and scripts/corpus_check.py found, each on its minimal input.
"""

from __future__ import annotations

import ast
import io
import json
import re
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codemods.model import PARITY_OPTIONS, FileResult, OptionValue
from codemods.rewrite import rewrite_source, source_lines
from tests import tools
from tests.conftest import run_cli

QUICK = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
THOROUGH = settings(max_examples=2500, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# The worker's declarations; WORKER must declare exactly these copyable options.
DECLARED: dict[str, dict[str, OptionValue]] = {
    "proj.tasks.add": {"ignore_result": True, "queue": "fast", "priority": 3},
    "mail.send": {
        "serializer": "pickle",
        "compression": "zlib",
        "routing_key": "mail",
        "expires": 60,
    },
    "proj.tasks.keep": {"ignore_result": False, "exchange": "ex", "delivery_mode": 2},
    "proj.tasks.plain": {},
    "proj.tasks.tricky": {
        "serializer": "café",
        "queue": 'it\'s "q"\n',
        "routing_key": "a\\b",
        "priority": -1,
        "expires": 2.5,
    },
}
WORKER = """
from celery import Celery, shared_task

app = Celery("proj")
FAST = "fast"

@app.task(ignore_result=True, queue=FAST, priority=3, acks_late=True)
def add(x, y=0):
    pass

@shared_task(name="mail.send", serializer="pickle", compression="zlib", routing_key="mail",
             expires=60, rate_limit="1/s")
def send(*args, **kwargs):
    pass

@app.task(ignore_result=False, exchange="ex", delivery_mode=2, time_limit=10)
def keep(*args, **kwargs):
    pass

@app.task
def plain():
    pass

@app.task(serializer="café", queue='it\\'s "q"\\n', routing_key="a\\\\b", priority=-1, expires=2.5)
def tricky(*args, **kwargs):
    pass
"""
INDEX = tools.make_index(WORKER)

# Module constants and the send_task alias every generated producer defines.
CONSTANTS = {"ADD": "proj.tasks.add", "MAIL": "mail.send", "PREFIX": "proj.tasks."}
ALIAS = "send"
HEADER = (
    'ADD = "proj.tasks.add"\n'
    "MAIL = 'mail.send'\n"
    'PREFIX = "proj.tasks."\n'
    f"{ALIAS} = app.send_task\n"
)
# send_task's leading positional parameters (the generator never writes more positionals).
POSITIONAL = ("name", "args", "kwargs", "countdown", "eta")
IGNORE = re.compile(r"#\s*celery-codemod:\s*ignore(?:\[([^\]]*)\])?")

NAMES = (
    '"proj.tasks.add"',
    "'proj.tasks.add'",
    "'''proj.tasks.add'''",
    "r'proj.tasks.keep'",
    'u"mail.send"',
    "ADD",
    '"mail.send"',
    "MAIL",
    'PREFIX + "keep"',
    'f"{PREFIX}add"',
    "'proj.tasks.keep'",
    '"proj.tasks.plain"',
    "'proj.tasks.tricky'",
    '"proj.tasks.tricky"',
    '"proj.tasks.nope"',
    '"celery.backend_cleanup"',
    'b"proj.tasks.add"',
    "task_name",
    'f"proj.tasks.{kind}"',
    "names[0]",
)
COMMENTS = (
    "# note",
    "# ) , ] }",
    "#",
    "# queue='slow', priority=9",
    "# type: ignore",
    "# celery-codemod: ignore",
    "# celery-codemod: ignore[queue, priority]",
    "# celery-codemod: ignore[unknown-task]",
)
# Values a call may already give, per keyword: equal to a declaration, different, or not literal.
KEYWORD_VALUES = {
    "ignore_result": ("True", "False", "flag"),
    "serializer": ('"pickle"', "'json'", "fmt"),
    "compression": ('"zlib"', "None", "'gzip'"),
    "queue": ('"fast"', "'fast'", '"slow"', "cfg.queue", '"é"'),
    "routing_key": ('"mail"', '"rk"'),
    "exchange": ('"ex"', "exchange"),
    "priority": ("3", "+3", "3.0", "-1"),
    "expires": ("60", "60.0", "2.5", "deadline"),
    "delivery_mode": ("2", "1"),
    "countdown": ("10", "delay"),
    "eta": ("when",),
    "task_id": ('"tid"', "uuid()"),
    "link": ("sig",),
    "time_limit": ("5",),
    "headers": ('{"h": 1}',),
    "retries": ("0",),
    "shadow": ('"alias"',),
}
RECEIVERS = (
    "app",
    "self.app",
    "get_app()",
    "celery_app",
    "current_app",
    "apps['main']",
    "(app)",
    "(app.send_task)",
    ALIAS,
)
# Calls that are not task calls; some have a callee name the tool counts (send_task, partial).
DISTRACTORS = ("f(x)", "send_task('proj.tasks.add')", "partial(print, 1)", "inspect.signature(fn)")
# Statements around a call (CALL); `$` stands for the indentation of a line that follows.
FORMS = (
    "CALL",
    "result = CALL",
    "result = CALL.id",
    "result = CALL.get(timeout=1)",
    "handles.append(CALL)",
    "(CALL)",
    "x = [CALL, y]",
    "cb = lambda: CALL",
    "out = [CALL for item in items]",
    "out = {'k': CALL}",
    "maybe = CALL if ready else None",
    "h: Handle = CALL",
    "print(CALL, file=log)",
    "CALL; other = 1",
    "other = 1; CALL",
    "other = 1; \\\n$CALL",
    "if ready: CALL",
    "if (handle := CALL):\n$    pass",
    "with CALL as handle:\n$    pass",
    "for part in CALL.children:\n$    pass",
    "@deco(CALL)\n$def decorated(): pass",
    "def later(arg=CALL): pass",
    "FSTRING",
)
BLOCKS = ("def f(self, task_name):", "async def g(self):", "if ready:", "with ctx:", "class C:")
# What cannot be written inside an f-string's replacement field before Python 3.12, and the task
# whose values could not be written there (see the regression tests).
IN_FSTRING = ("'", "#", "\\", "tricky")


@dataclass
class Producer:
    """A generated module and, per task call in source order, whether one of its arguments
    starts its own line (then each inserted keyword must too)."""

    source: str
    own_line: list[bool] = field(default_factory=list)


class _Writer:
    """Renders statements, drawing every formatting choice from hypothesis."""

    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw
        self.indent = ""
        self.own_line: list[bool] = []
        # Substrings that cannot be written here (inside an f-string's replacement field).
        self.forbid: tuple[str, ...] = ()

    def allowed(self, text: str) -> bool:
        return not any(bad in text for bad in self.forbid)

    def choice(self, options: tuple[str, ...] | list[str]) -> str:
        return self.draw(st.sampled_from([o for o in options if self.allowed(o)]))

    def gap(self, inside: bool = True) -> str:
        """Whitespace between two tokens; inside brackets it may break lines and hold comments."""
        if not inside:
            return self.choice(("", "", "", " ", " \\\n" + self.indent + "    "))
        indent = self.choice(("", self.indent, self.indent + "    ", self.indent + "\t  "))
        options = ["", "", "", "", " ", " ", "\t", f" \\\n{indent}"]
        if self.allowed("\n"):
            options += ["\n" + indent, " \n\n" + indent]
        if self.allowed("#"):
            options += [
                f"  {self.choice(COMMENTS)}\n{indent}",
                f"\n{indent}{self.choice(COMMENTS)}\n{indent}",
            ]
        return self.choice(options)

    def sequence(self, opening: str, items: list[str], closing: str) -> str:
        text = opening
        for i, item in enumerate(items):
            text += self.gap() + item + self.gap()
            if i < len(items) - 1 or self.draw(st.booleans()):
                text += ","
        return text + self.gap() + closing

    def head(self, inside: bool) -> str:
        """The callee: `<receiver>.send_task`, `(app.send_task)` or the module's alias."""
        receiver = self.choice(RECEIVERS)
        if receiver == ALIAS:
            return ALIAS
        if receiver == "(app.send_task)":
            return f"({self.gap()}app{self.gap()}.{self.gap()}send_task{self.gap()})"
        if receiver == "get_app()":
            receiver = "get_app(" + self.gap() + ")"
        elif receiver == "(app)":
            receiver = "(" + self.gap() + "app" + self.gap() + ")"
        elif receiver == "apps['main']":
            receiver = "apps[" + self.gap() + "'main'" + self.gap() + "]"
        else:
            receiver = receiver.replace(".", self.gap(inside) + "." + self.gap(inside))
        return receiver + self.gap(inside) + "." + self.gap(inside) + "send_task"

    def name(self) -> str:
        text = self.choice(NAMES)
        form = self.draw(st.integers(0, 5))
        if form == 0:  # parenthesised, once or twice
            text = "(" + self.gap() + text + self.gap() + ")"
            if self.draw(st.booleans()):
                text = "(" + self.gap() + text + self.gap() + ")"
        elif form == 1 and text[0] in "\"'" and text[1] != text[0]:
            quote = text[0]  # implicitly concatenated: "proj.tasks." "add"
            head, _, tail = text[1:-1].rpartition(".")
            text = f"{quote}{head}.{quote}{self.gap()}{quote}{tail}{quote}"
        return text

    def value(self, depth: int) -> str:
        """An argument value: a literal, a name, or a call (maybe another task call)."""
        kind = self.draw(st.integers(0, 9 if depth < 2 else 5))
        if kind <= 2:
            return self.choice(("1", "x", '"s"', "None", "[]", '"é"'))
        if kind <= 5:
            return self.choice(DISTRACTORS).replace("(", "(" + self.gap(), 1)
        return self.call(depth + 1, inside=True)

    def task_args(self, depth: int) -> str:
        items = [self.value(depth) for _ in range(self.draw(st.integers(0, 3)))]
        if self.draw(st.booleans()):
            return self.sequence("(", items, ")")
        return self.sequence("[", items, "]")

    def task_kwargs(self, depth: int) -> str:
        kind = self.draw(st.integers(0, 3))
        if kind == 0:
            return "None"
        if kind == 1:
            return (
                "dict(" + self.gap() + "y" + self.gap() + "=" + self.gap() + "2" + self.gap() + ")"
            )
        items = [
            f'"k{i}"' + self.gap() + ":" + self.gap() + self.value(depth)
            for i in range(self.draw(st.integers(0, 2)))
        ]
        return self.sequence("{", items, "}")

    def keyword(self, key: str, depth: int) -> str:
        return key + self.gap() + "=" + self.gap() + self.option_value(key, depth)

    def option_value(self, key: str, depth: int) -> str:
        if key == "args":
            return self.task_args(depth)
        if key == "kwargs":
            return self.task_kwargs(depth)
        if key == "name":
            return self.name()
        if key == "link" and depth < 2 and self.draw(st.booleans()):
            return self.call(depth + 1, inside=True)
        return self.choice(KEYWORD_VALUES[key])

    def call(self, depth: int, inside: bool) -> str:
        """A task call: the name, then positionals, keywords and splats, in random layout."""
        head = self.head(inside)
        head += self.gap(inside) if inside else self.choice(("", "", " "))
        slot = len(self.own_line)
        self.own_line.append(False)
        args: list[str] = []
        name_by_keyword = self.draw(st.integers(0, 5)) == 0
        taken: set[str] = set()
        if not name_by_keyword:
            args.append(self.name())
            count = self.draw(st.integers(1, len(POSITIONAL)))
            for position in POSITIONAL[1:count]:
                args.append(self.option_value(position, depth))
                taken.add(position)
            if self.draw(st.integers(0, 9)) == 0:
                args.append("*more")
        pool = [k for k in (*KEYWORD_VALUES, "args", "kwargs") if k not in taken]
        keys = self.draw(st.lists(st.sampled_from(pool), unique=True, max_size=6))
        if name_by_keyword:
            keys.insert(self.draw(st.integers(0, len(keys))), "name")
        keywords = [self.keyword(key, depth) for key in keys]
        if self.draw(st.integers(0, 9)) == 0:
            keywords.insert(self.draw(st.integers(0, len(keywords))), "**extra")
        args.extend(keywords)
        text = head + "("
        for i, arg in enumerate(args):
            before = self.gap()
            # A line break, not a backslash continuation, makes the layout one argument per line.
            self.own_line[slot] = self.own_line[slot] or "\n" in before.replace("\\\n", "")
            text += before + arg
            if i < len(args) - 1 or self.draw(st.booleans()):
                text += self.gap() + ","
        return text + self.gap() + ")"

    def fstring(self) -> str:
        """`f'...{CALL}...'`: a call inside an f-string's replacement field."""
        triple = self.draw(st.booleans())
        self.forbid = IN_FSTRING if triple else (*IN_FSTRING, "\n")
        call = self.call(0, inside=True)
        self.forbid = ()
        quote = "'''" if triple else "'"
        spec = self.choice(("", "!r", ":>40", "!s:^9"))
        return f"f{quote}queued {{{call}{spec}}} at {{now}}{quote}"

    def statement(self, in_def: bool) -> str:
        form = self.choice([*FORMS, "return CALL"] if in_def else FORMS)
        if form == "FSTRING":
            text = "msg = " + self.fstring()
        else:
            text = form.replace("$", self.indent).replace("CALL", self.call(0, inside=False))
        if self.draw(st.integers(0, 4)) == 0:
            text += "  " + self.choice(COMMENTS)
        return self.indent + text + "\n"


@st.composite
def producers(draw: st.DrawFn) -> Producer:
    """A producer module with one to three statements that call send_task, in nested blocks."""
    writer = _Writer(draw)
    unit = draw(st.sampled_from(("    ", "  ", "\t")))
    text = HEADER
    in_def = False
    for block in draw(st.lists(st.sampled_from(BLOCKS), max_size=2)):
        text += writer.indent + block + "\n"
        writer.indent += unit
        in_def = block.startswith(("def", "async")) or (in_def and not block.startswith("class"))
    for _ in range(draw(st.integers(1, 3))):
        text += writer.statement(in_def)
    if draw(st.booleans()):
        writer.indent = ""
        text += writer.statement(False)
    text = text.replace("\n", draw(st.sampled_from(("\n", "\n", "\n", "\r\n", "\r"))))
    if draw(st.integers(0, 5)) == 0:
        text = text.rstrip("\r\n")
    return Producer(text, writer.own_line)


# --- the oracle ---------------------------------------------------------------------------------


def task_calls(tree: ast.AST) -> list[ast.Call]:
    """`<x>.send_task(...)` and alias calls in source order (outer before inner)."""
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Attribute) and node.func.attr == "send_task")
            or (isinstance(node.func, ast.Name) and node.func.id == ALIAS)
        )
    ]
    return sorted(calls, key=lambda c: (c.lineno, c.col_offset, -(c.end_lineno or 0)))


def _evaluate(node: ast.expr | None) -> str | None:
    """A task name written as a literal, a constant, `+` or an f-string of those; else None."""
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    if isinstance(node, ast.Name):
        return CONSTANTS.get(node.id)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _evaluate(node.left), _evaluate(node.right)
        return None if left is None or right is None else left + right
    if isinstance(node, ast.JoinedStr):
        parts = [
            _evaluate(v.value if isinstance(v, ast.FormattedValue) else v) for v in node.values
        ]
        return None if None in parts else "".join(p or "" for p in parts)
    return None


def task_name(call: ast.Call) -> str | None:
    node = call.args[0] if call.args else None
    return _evaluate(next((k.value for k in call.keywords if k.arg == "name"), node))


def calls_in_fstrings(tree: ast.AST) -> set[int]:
    """The calls inside an f-string's replacement field."""
    return {
        id(node)
        for fstring in ast.walk(tree)
        if isinstance(fstring, ast.JoinedStr)
        for node in ast.walk(fstring)
        if isinstance(node, ast.Call)
    }


def _module_or_class_level(tree: ast.AST) -> set[int]:
    """Assignments and walruses whose names are bound at module or class level (the innermost
    def or class around them is a class, or there is none), where other code can reach them."""
    found: set[int] = set()

    def visit(node: ast.AST, in_function: bool) -> None:
        if isinstance(node, ast.Assign | ast.AnnAssign | ast.NamedExpr) and not in_function:
            found.add(id(node))
        inner = in_function
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            inner = True
        elif isinstance(node, ast.ClassDef):  # a class attribute, even in a function
            inner = False
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(tree, False)
    return found


def result_reads(tree: ast.AST) -> set[int]:
    """The calls whose result may be read, as README.md's table says: any attribute but `id`
    (`CALL.get()`, `CALL.children`), or the result leaves the expression it was made in
    (returned, yielded, stored on an object or in a module-level or class-level name, passed to a
    call other than print(), collected in a container or comprehension, a lambda's value, a
    default argument, used as a context manager). No generated name bound to a result is read."""
    reads = set()
    outer = _module_or_class_level(tree)
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr != "id") or (
            isinstance(node, ast.Return | ast.Yield | ast.YieldFrom) and node.value is not None
        ):
            reads.add(id(node.value))
        elif isinstance(node, ast.Lambda):
            reads.add(id(node.body))
        elif isinstance(node, ast.Call) and not (
            isinstance(node.func, ast.Name) and node.func.id == "print"
        ):
            reads.update(id(a.value if isinstance(a, ast.Starred) else a) for a in node.args)
            reads.update(id(k.value) for k in node.keywords)
        elif isinstance(node, ast.List | ast.Tuple | ast.Set):
            reads.update(id(e.value if isinstance(e, ast.Starred) else e) for e in node.elts)
        elif isinstance(node, ast.Dict):
            reads.update(id(v) for v in node.values)
        elif isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp):
            reads.add(id(node.elt))
        elif isinstance(node, ast.DictComp):
            reads.add(id(node.value))
        elif isinstance(node, ast.withitem):
            reads.add(id(node.context_expr))
        elif isinstance(node, ast.arguments):
            reads.update(id(d) for d in (*node.defaults, *node.kw_defaults) if d is not None)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.NamedExpr):
            targets = [node.target] if not isinstance(node, ast.Assign) else node.targets
            if node.value is not None and (
                id(node) in outer
                or any(isinstance(t, ast.Attribute | ast.Subscript) for t in targets)
            ):
                reads.add(id(node.value))
    for node in ast.walk(tree):  # `CALL if ready else None` is the call where its value goes
        if isinstance(node, ast.IfExp) and id(node) in reads:
            reads.update((id(node.body), id(node.orelse)))
    return reads


def expected_options(call: ast.Call, lines: list[str], reads: set[int]) -> list[str]:
    """The declared options the call lacks, in parity order, as DESIGN.md specifies."""
    declared = DECLARED.get(task_name(call) or "", {})
    if any(isinstance(a, ast.Starred) for a in call.args) or any(
        k.arg is None for k in call.keywords
    ):
        return []
    given = {k.arg for k in call.keywords} | set(POSITIONAL[: len(call.args)])
    ignored: set[str] = set()
    match = IGNORE.search(lines[call.lineno - 1])
    if match is not None:
        if match.group(1) is None:
            return []
        ignored = {part.strip() for part in match.group(1).split(",")}
    if id(call) in reads:  # ignore_result would make `.get()` return None at once
        ignored.add("ignore_result")
    return [
        option
        for option in PARITY_OPTIONS
        if option in declared
        and option not in given
        and option not in ignored
        and (option != "ignore_result" or declared[option] is True)
    ]


def comments(source: str) -> list[str]:
    tokens = tokenize.generate_tokens(io.StringIO(source, newline=None).readline)
    return [token.string for token in tokens if token.type == tokenize.COMMENT]


def is_subsequence(text: str, container: str) -> bool:
    """Whether `container` is `text` with characters inserted (none removed or changed)."""
    rest = iter(container)
    return all(char in rest for char in text)


def starts_its_line(lines: list[str], node: ast.keyword) -> bool:
    prefix = lines[node.lineno - 1].encode()[: node.col_offset]
    return not prefix.strip()


# The callees whose calls the tool counts (and whose first line an opt-out comment is read on).
COUNTED = {"send_task", "partial", "signature", "subtask", "Signature", ALIAS}


def keeps_its_closing_line(call: ast.Call, lines: list[str], tree: ast.AST) -> bool:
    """An opt-out comment follows the call on its closing line, where another counted call
    starts: the keywords stay on that line, so that the comment stays with the call it opts
    out."""
    starts = {
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and node is not call
        and (
            node.func.attr
            if isinstance(node.func, ast.Attribute)
            else getattr(node.func, "id", None)
        )
        in COUNTED
    }
    if call.end_lineno not in starts or call.end_col_offset is None:
        return False
    rest = lines[call.end_lineno - 1].encode()[call.end_col_offset :].decode()
    return IGNORE.search(rest) is not None


def check_rewrite(producer: Producer) -> FileResult:
    """Every property of one rewrite; returns the result for further checks."""
    source = producer.source
    before = ast.parse(source)
    lines = source_lines(source)
    result = rewrite_source(source, INDEX, path="producer.py")
    unsafe = [d for d in result.diagnostics if d.code == "unsafe-rewrite"]
    assert not unsafe, unsafe[0].message

    before_calls = task_calls(before)
    reads = result_reads(before)
    expected = [expected_options(call, lines, reads) for call in before_calls]
    # A call inside an f-string may also be left alone, if the tool says so on its line.
    in_fstrings = calls_in_fstrings(before)
    reported = {d.line for d in result.diagnostics if d.code == "fstring-call"}
    for i, call in enumerate(before_calls):
        if id(call) in in_fstrings and call.lineno in reported:
            expected[i] = []
    assert len(producer.own_line) == len(before_calls)
    assert [list(c.added) for c in result.changes] == [e for e in expected if e]
    if not any(expected):
        assert result.new_source is None
        return result
    output = result.new_source
    assert output is not None

    after = ast.parse(output)
    after_lines = source_lines(output)
    after_calls = task_calls(after)
    assert len(after_calls) == len(before_calls)
    for old, new, options, own_line in zip(
        before_calls, after_calls, expected, producer.own_line, strict=True
    ):
        kept = len(old.keywords)
        assert [k.arg for k in new.keywords] == [k.arg for k in old.keywords] + options
        task = DECLARED.get(task_name(old) or "", {})
        for keyword in new.keywords[kept:]:
            value = ast.literal_eval(keyword.value)
            assert (type(value), value) == (type(task[keyword.arg or ""]), task[keyword.arg or ""])
            if own_line and not keeps_its_closing_line(old, lines, before):
                assert starts_its_line(after_lines, keyword), keyword.arg
        if old.lineno == old.end_lineno:
            assert new.lineno == new.end_lineno, "a one-line call must stay on one line"
        del new.keywords[kept:]
    assert ast.dump(after) == ast.dump(before), "only the inserted keywords may differ"

    assert is_subsequence(source, output), "the rewrite may only insert text"
    assert comments(output) == comments(source)
    endings = set(re.findall(r"\r\n|\r|\n", output))
    assert endings <= set(re.findall(r"\r\n|\r|\n", source)), "line endings changed"
    again = rewrite_source(output, INDEX, path="producer.py")
    assert again.new_source is None, "the rewrite must be idempotent"
    assert not [d for d in again.diagnostics if d.code == "unsafe-rewrite"]
    return result


# --- tests --------------------------------------------------------------------------------------


def test_index_holds_the_declared_options() -> None:
    copyable = {
        name: {k: v for k, v in task.options.items() if k in PARITY_OPTIONS}
        for name, task in INDEX.tasks.items()
    }
    assert copyable == DECLARED
    assert not INDEX.conflicts and not INDEX.diagnostics


@QUICK
@given(producers())
def test_rewrite_properties(producer: Producer) -> None:
    check_rewrite(producer)


@pytest.mark.slow_property
@THOROUGH
@given(producers())
def test_rewrite_properties_thorough(producer: Producer) -> None:
    check_rewrite(producer)


# --- regression tests: the bugs found, on their minimal inputs ---------------------------------


def rewrite(source: str) -> FileResult:
    return rewrite_source(source, INDEX, path="producer.py")


def codes(result: FileResult) -> set[str]:
    return {d.code for d in result.diagnostics}


def test_call_inside_a_double_quoted_fstring() -> None:
    source = HEADER + 'msg = f"{app.send_task(ADD)}"\n'
    result = rewrite(source)
    assert "unsafe-rewrite" not in codes(result)
    edited = "msg = f\"{app.send_task(ADD, ignore_result=True, queue='fast', priority=3)}\"\n"
    if result.new_source is not None:  # edited: with the other quote
        assert result.new_source == HEADER + edited
    else:  # or left alone, and said so
        assert any(d.line == 5 for d in result.diagnostics)


def test_unwritable_value_inside_an_fstring() -> None:
    result = rewrite("msg = f'{app.send_task(\"proj.tasks.tricky\")}'\n")
    assert "unsafe-rewrite" not in codes(result)
    assert result.new_source is None or "\\" not in result.new_source


def test_call_inside_a_self_documenting_fstring() -> None:
    result = rewrite("msg = f'{app.send_task(\"proj.tasks.add\")=}'\n")
    assert "unsafe-rewrite" not in codes(result)


def test_beat_entry_with_a_dict_splat_is_left_alone() -> None:
    result = rewrite('beat = {"t": {"task": "proj.tasks.add", "schedule": 10, **extra}}\n')
    assert result.new_source is None
    assert "splat-options" in codes(result)


def test_lone_cr_line_endings_are_kept() -> None:
    """libcst drops the final line ending of a file with lone \\r endings when it prints the
    whole module; the rewrite must keep it."""
    source = 'app.send_task("proj.tasks.add")\r'
    output = rewrite(source).new_source
    assert output is not None
    assert is_subsequence(source, output) and output.endswith("\r")


def test_opt_out_inside_a_string_is_not_a_comment() -> None:
    result = rewrite('app.send_task("proj.tasks.add", args=["# celery-codemod: ignore"])\n')
    assert result.new_source is not None


def test_write_into_a_narrower_source_encoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "__init__.py").write_text("")
    (tmp_path / "proj" / "tasks.py").write_text(WORKER, encoding="utf-8")
    producer = tmp_path / "producer.py"
    producer.write_bytes(b'# -*- coding: ascii -*-\napp.send_task("proj.tasks.tricky")\n')
    monkeypatch.chdir(tmp_path)
    result = run_cli("fix", "--write", ".")
    assert result.exit_code in (0, 1)
    ast.parse(producer.read_bytes())  # written or not, it still decodes and parses


def test_lambda_default_does_not_break_the_index() -> None:
    index = tools.make_index(
        "from celery import shared_task\n\n"
        "def f(callback=lambda: None):\n    pass\n\n"
        "@shared_task(ignore_result=True)\ndef add():\n    pass\n"
    )
    assert "proj.tasks.add" in index.tasks


def test_app_reexported_under_its_module_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("from .app import app\n")
    (package / "app.py").write_text('from celery import Celery\n\napp = Celery("pkg")\n')
    (package / "tasks.py").write_text(
        "from .app import app\n\n\n@app.task(ignore_result=True)\ndef add():\n    pass\n"
    )
    monkeypatch.chdir(tmp_path)
    result = run_cli("index", ".")
    assert "pkg.tasks.add" in {task["name"] for task in json.loads(result.stdout)["tasks"]}


def test_handler_keywords_are_known_task_options() -> None:
    index = tools.make_index(
        "from celery import Celery\n\napp = Celery('proj')\n\n"
        "def handler(self, exc, task_id, args, kwargs, einfo):\n    pass\n\n"
        "@app.task(on_failure=handler)\ndef fetch():\n    pass\n"
    )
    assert "unknown-task-option" not in {d.code for d in index.diagnostics}
