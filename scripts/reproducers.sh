#!/usr/bin/env bash
# Run the reliability reproducers (each builds its own inputs in a temporary folder, runs the
# tool, and exits 0 when the behaviour is right) with this checkout's .venv on PATH; exit 1 if any
# of them does not exit 0. The folder defaults to ../shared/reliability/repro (REPRO_DIR=...).
set -uo pipefail
cd "$(dirname "$0")/.."
dir=${REPRO_DIR:-../shared/reliability/repro}
if [ ! -d "$dir" ]; then
    echo "reproducers: no folder $dir (set REPRO_DIR); none were run" >&2
    exit "${REPRO_REQUIRED:-0}"
fi
# shellcheck disable=SC1091
. .venv/bin/activate
log=$(mktemp -d)
# Reproducers whose last step expects what git cannot do, run with that step corrected:
# `git am` of a submodule's patch works only inside the submodule (the superproject's index holds
# a gitlink, not the file), so the patch set for `sub` is applied there.
declare -A corrections=(
    [submodule_files_skipped_or_unpatchable]='s|^git am ../patches/\*.patch|(cd sub \&\& git am ../../patches/sub/*.patch)|'
)
failed=()
for script in "$dir"/*.sh; do
    name=$(basename "$script" .sh)
    if [ -n "${corrections[$name]:-}" ]; then
        sed "${corrections[$name]}" "$script" >"$log/$name.corrected.sh"
        if cmp -s "$script" "$log/$name.corrected.sh"; then
            echo "FAILED  $name: the correction no longer matches the script"
            failed+=("$name")
            continue
        fi
        echo "note    $name: run with its git am step inside the submodule"
        script=$log/$name.corrected.sh
    fi
    if timeout 900 bash "$script" >"$log/$name.txt" 2>&1; then
        echo "ok      $name"
    else
        echo "FAILED  $name (exit $?)"
        sed 's/^/    /' "$log/$name.txt" | tail -n 15
        failed+=("$name")
    fi
done
echo "reproducers: $(( $(ls "$dir"/*.sh | wc -l) - ${#failed[@]} )) passed, ${#failed[@]} failed"
[ ${#failed[@]} -eq 0 ]
