from __future__ import annotations

from codemods.console import main

if __name__ == "__main__":
    main()
