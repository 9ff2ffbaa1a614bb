#!/usr/bin/env bash
# Checks the book's solutions: applies each patch in book/solutions/ to a
# scratch copy of the tree and runs the tests its `# test:` lines name,
# which must run at least one test and pass. A `# needs: chN_M` line applies
# that solution first (an exercise that builds on another).
#
#   book/check-solutions.sh                 every solution, one at a time
#   book/check-solutions.sh ch10_1 ch3_2    only these
#   book/check-solutions.sh --unsolved ...  also check that its tests FAIL
#                                           before the patch (slower)
#
# The scratch copy is target/solutions/tree (the tracked and new files of
# the working tree, so uncommitted work is checked too); its builds go to
# target/solutions/target and are reused between runs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
solutions=$root/book/solutions
scratch=${SOLUTIONS_SCRATCH:-$root/target/solutions}
tree=$scratch/tree
export CARGO_TARGET_DIR=$scratch/target
# A solution compiles without warnings, as the code it changes does.
export RUSTFLAGS="${RUSTFLAGS:-} -D warnings"

unsolved=false
ids=()
for arg in "$@"; do
    case $arg in
        --unsolved) unsolved=true ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) ids+=("${arg%.patch}") ;;
    esac
done
if [ ${#ids[@]} -eq 0 ]; then
    for patch in "$solutions"/*.patch; do
        ids+=("$(basename "$patch" .patch)")
    done
fi

# A fresh copy, every file with a new mtime, so cargo rebuilds what changed.
rm -rf "$tree"
mkdir -p "$tree"
(cd "$root" && git ls-files -z --cached --others --exclude-standard \
    | while IFS= read -r -d '' file; do [ -e "$file" ] && printf '%s\0' "$file"; done \
    | tar --null -T - -cf - | tar -xmf - -C "$tree")
(cd "$tree" && git init -q && git add -A && git -c user.name=check -c user.email=check@localhost commit -qm base)

# The `# test:` commands of a solution, one per line.
tests_of() { sed -n 's/^# test: //p' "$solutions/$1.patch"; }
needs_of() { sed -n 's/^# needs: //p' "$solutions/$1.patch"; }

# Runs one test command in the scratch tree; prints its summary. Succeeds
# when it ran at least one test and none failed.
run_tests() {
    local command=$1 log
    log=$(mktemp)
    if (cd "$tree" && bash -c "$command") >"$log" 2>&1 \
        && grep -qE "test result: ok\. [1-9][0-9]* passed" "$log" \
        && ! grep -q "test result: FAILED" "$log"; then
        rm -f "$log"
        return 0
    fi
    echo "---- output of: $command" >&2
    grep -E "panicked|error(\[|:)|test result|FAILED|failures:" "$log" | head -40 >&2 || true
    rm -f "$log"
    return 1
}

failed=()
for id in "${ids[@]}"; do
    if [ ! -f "$solutions/$id.patch" ]; then
        echo "FAIL $id: no book/solutions/$id.patch"
        failed+=("$id")
        continue
    fi
    mapfile -t commands < <(tests_of "$id")
    if [ ${#commands[@]} -eq 0 ]; then
        echo "FAIL $id: the patch has no '# test:' line"
        failed+=("$id")
        continue
    fi
    (cd "$tree" && git checkout -q -- . && git clean -qfd)
    ok=true
    for need in $(needs_of "$id"); do
        (cd "$tree" && git apply "$solutions/$need.patch") || { echo "FAIL $id: its prerequisite $need does not apply"; ok=false; }
    done
    if $ok && $unsolved; then
        # At least one command must fail without the patch (the others may
        # be guards that pass either way: the rest of a stage's tests).
        unsolved_fails=false
        for command in "${commands[@]}"; do
            run_tests "$command" 2>/dev/null || unsolved_fails=true
        done
        if ! $unsolved_fails; then
            echo "FAIL $id: its tests pass without the solution"
            ok=false
        fi
    fi
    if $ok && ! (cd "$tree" && git apply "$solutions/$id.patch"); then
        echo "FAIL $id: the patch does not apply"
        ok=false
    fi
    if $ok; then
        for command in "${commands[@]}"; do
            run_tests "$command" || { echo "FAIL $id: $command"; ok=false; }
        done
    fi
    if $ok; then echo "ok   $id"; else failed+=("$id"); fi
done
(cd "$tree" && git checkout -q -- . && git clean -qfd)

echo "${#ids[@]} solutions checked, ${#failed[@]} failed${failed:+: ${failed[*]}}"
[ ${#failed[@]} -eq 0 ]
