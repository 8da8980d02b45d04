"""The floor a Python codemod can hope for: discover, read every file, libcst-parse the candidates.

Lists `.py` files as the tool's discovery does (`git ls-files`), reads each one and parses with
`libcst.parse_module` only those containing a fixed needle. No index, no rewrite: whatever the
tool does beyond this is its own overhead. Run as a script so its peak RSS is its own.

    python benchmarks/floor.py DIR
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import libcst

NEEDLES = (b"send_task", b"task", b"signature")


def git_python_files(root: Path) -> list[Path]:
    """Tracked plus untracked, not ignored `.py` files: the same command as the tool's discovery."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "*.py"],
        cwd=root,
        capture_output=True,
        check=True,
    ).stdout
    return [root / name for name in listed.decode("utf-8", "surrogateescape").split("\0") if name]


def scan(root: Path) -> tuple[int, int, int]:
    """(files read, files parsed, parse errors)."""
    files = git_python_files(root)
    parsed = errors = 0
    for path in files:
        data = path.read_bytes()
        if not any(needle in data for needle in NEEDLES):
            continue
        parsed += 1
        try:
            libcst.parse_module(data)
        except libcst.ParserSyntaxError:
            errors += 1
    return len(files), parsed, errors


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: floor.py DIR", file=sys.stderr)
        return 2
    read, parsed, errors = scan(Path(argv[0]))
    print(f"floor: read {read} files, libcst-parsed {parsed} ({errors} errors)", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
