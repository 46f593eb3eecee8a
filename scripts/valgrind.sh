#!/bin/sh
# `make valgrind`: the unit tests (t/unit/run_unit) and the fuzz corpus
# replays (t/fuzz/replay_*) under valgrind's memcheck; called by the
# Makefile from the top of the tree once those are built.
#
# Arguments: the fuzz targets whose replay runs (soap syncml csr).
#
# check forks a process per test by default; CK_FORK=no keeps every test
# in the one process valgrind watches, so a leak or an invalid access of
# any test fails the run. Only definite and indirect leaks count:
# "possibly lost" and "still reachable" blocks are what libxml2, OpenSSL
# and APR keep for the life of the process. t/asan/valgrind.supp holds
# the one-time allocations of those libraries that memcheck still
# reports; a frame of src/ is never suppressed.
set -e

if [ ! -x t/unit/run_unit ]; then
    echo "valgrind: t/unit/run_unit is missing (make unit)" >&2
    exit 1
fi
if ! command -v valgrind >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ]; then
        echo "valgrind: valgrind is not installed (apt-get install valgrind)" >&2
        exit 1
    fi
    echo "valgrind: installing valgrind"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends valgrind ||
        { apt-get update && DEBIAN_FRONTEND=noninteractive \
            apt-get install -y --no-install-recommends valgrind; }
fi

top=$(pwd)
logs="$top/t/logs/valgrind"
rm -rf "$logs"
mkdir -p "$logs"

vg() {
    name=$1
    shift
    if valgrind --error-exitcode=1 --leak-check=full \
        --errors-for-leak-kinds=definite,indirect \
        --show-leak-kinds=definite,indirect \
        --suppressions="$top/t/asan/valgrind.supp" \
        --num-callers=40 --log-file="$logs/$name.log" "$@"; then
        return 0
    fi
    echo "valgrind: $name failed; its report ($logs/$name.log):" >&2
    cat "$logs/$name.log" >&2
    return 1
}

fail=""
start=$(date +%s)
# The unit tests find their fixtures relative to t/unit (test_main.c).
echo "valgrind: unit tests"
(cd t/unit && CK_FORK=no && export CK_FORK && vg unit ./run_unit) || fail="$fail unit tests;"
echo "valgrind: unit tests took $(($(date +%s) - start)) s"

for t in "$@"; do
    printf 'valgrind: fuzz corpus %s: ' "$t"
    vg "replay_$t" "t/fuzz/replay_$t" "t/fuzz/corpus/$t" || fail="$fail replay_$t;"
done

if [ -n "$fail" ]; then
    echo "valgrind: FAILED:$fail (reports in $logs)" >&2
    exit 1
fi
echo "valgrind: no error and no leak in $(($(date +%s) - start)) s"
