"""The `celery-codemod` command: the CLI, imported with the cyclic garbage collector paused."""

from __future__ import annotations

import gc


def main() -> None:
    # Importing makes tens of thousands of objects that live as long as the process (classes,
    # functions, the records' generated methods): the collector would only walk them again and
    # again, a few milliseconds of every run. They are kept out of its way.
    collecting = gc.isenabled()
    gc.disable()
    try:
        from codemods.cli import main as cli

        gc.freeze()
    finally:
        if collecting:
            gc.enable()
    cli()
