#!/usr/bin/env bash
# Install everything the tests need and run them: the project in .venv with its test extra,
# redis-server from Debian when missing, then lint, types and the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then apt=(apt-get); else apt=(sudo apt-get); fi
    "${apt[@]}" update -qq
    DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq redis-server >/dev/null
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m pytest "$@"

# The end-to-end tests once more against Celery 5.6 (on 5.6.3 a producer's `ignore_result: False`
# header overrides the worker's declaration): version differences are parametrised, never skipped.
python3 -m venv .venv-celery56
.venv-celery56/bin/python -m pip install -q --upgrade pip
.venv-celery56/bin/python -m pip install -q -e '.[test]' 'celery[redis]==5.6.*'
.venv-celery56/bin/python -m pytest tests/e2e -p no:cacheprovider
