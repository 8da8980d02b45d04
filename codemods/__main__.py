from __future__ import annotations

from codemods.cli import main

if __name__ == "__main__":
    main()
