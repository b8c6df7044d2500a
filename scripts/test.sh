#!/usr/bin/env bash
# Runs the test suite against real Postgres, Redis and Mosquitto started just for this run.
#
#   bash scripts/test.sh [pytest args...]
#   ANDON_TEST_BACKENDS=postgres bash scripts/test.sh tests/test_x.py::test_y   # one backend only
#
# The suite runs once per database backend, each in its own pytest process: Tortoise cannot switch
# SQL dialects inside one process. Tests marked `backend_independent` run in the SQLite process only.
# Two phases (docs/testing.md):
#   1. the backends side by side, one process each (the machine's two cores), without the tests
#      marked `timing`;
#   2. the `timing` tests (latency goals), one backend after the other, with nothing beside them.
# The exit code is non-zero if any run failed. pytest's exit code 5 (no tests collected) is a failure
# in phase 1, where a suite that runs nothing must not look green; in phase 2 it only means that the
# arguments selected no timing test.
#
# Line and branch coverage of the product is measured in every run and combined at the end.
#
# With CI=true a service that does not start fails the run. Locally it is a warning, its
# ANDON_TEST_* variable stays unset and the tests that need it skip themselves; without Postgres
# the postgres run is skipped altogether.
set -uo pipefail # no -e: every run must happen even when one fails

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
PYTHON=${PYTHON:-.venv/bin/python}
# A machine may set PYTHONDONTWRITEBYTECODE: each of the run's Python processes (the pytest runs, the
# gateways and commands the tests start) would then compile every module again, and pytest rewrite
# every test module, at each start. Written once into the (gitignored) __pycache__ folders, the
# bytecode halves a pytest start here.
unset PYTHONDONTWRITEBYTECODE

# shellcheck source=scripts/services.sh
source scripts/services.sh

log() { printf 'test.sh: %s\n' "$*" >&2; }
in_ci() { [ "${CI:-}" = "true" ]; }

if [ ! -x "$PYTHON" ]; then
    log "$PYTHON not found; run 'make install' (or 'make test', which installs first)"
    exit 1
fi

workdir=$(mktemp -d "${TMPDIR:-/tmp}/andon-test.XXXXXX") || exit 1
# Traversable (not listable) by others: Postgres runs as its own user in a folder below it.
chmod 711 "$workdir"

# Whatever happens (success, failure, Ctrl-C, kill), stop the runs and the servers and delete their
# data.
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
    local pid dir
    for pid in $(jobs -p); do kill "$pid" 2>/dev/null; done
    wait 2>/dev/null
    for dir in "$workdir"/services-*; do services_stop "$dir"; done
    rm -rf "$workdir"
}
trap cleanup EXIT
# pytest handles Ctrl-C itself and exits 2, and bash would then go on to the next command.
# Exiting from these traps makes one Ctrl-C end the whole script (and the EXIT trap cleans up).
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM

if ! services_ensure_packages; then
    if in_ci; then
        log "ERROR: the test services could not be installed (CI=true)"
        exit 1
    fi
    log "WARNING: some test services could not be installed; their tests will be skipped"
fi

# A service left over in the caller's environment must not leak into this run: only what
# start writes to env.sh counts.
unset ANDON_TEST_PG_DSN ANDON_TEST_REDIS_URL ANDON_TEST_MQTT_URL
requested=(${ANDON_TEST_BACKENDS:-sqlite postgres})
# One set of servers per backend: the two runs go side by side, and a gateway of one subscribed to
# every account's MQTT topics would count the other's messages (and share its Redis channel).
for backend in "${requested[@]}"; do
    mkdir -p "$workdir/services-$backend"
    services_start "$workdir/services-$backend" || exit 1
    # shellcheck source=/dev/null
    (source "$workdir/services-$backend/env.sh"
        log "services for $backend: PG=${ANDON_TEST_PG_DSN:-unset} REDIS=${ANDON_TEST_REDIS_URL:-unset} MQTT=${ANDON_TEST_MQTT_URL:-unset}")
done

# run_suite BACKEND PHASE ARGS...: one pytest process for one backend and phase, its output into
# $workdir/PHASE-BACKEND.log, its exit code into .rc; coverage data and a JUnit report beside them.
run_suite() {
    local backend=$1 phase=$2
    shift 2
    (
        # shellcheck source=/dev/null
        source "$workdir/services-$backend/env.sh"
        COVERAGE_FILE="$workdir/.coverage.$phase-$backend" ANDON_TEST_BACKEND=$backend \
            "$PYTHON" -m pytest --junitxml="$workdir/junit-$phase-$backend.xml" \
            --cov --cov-report= --durations=10 -p no:cacheprovider "$@" >"$workdir/$phase-$backend.log" 2>&1
    )
    echo $? >"$workdir/$phase-$backend.rc"
}

# report BACKEND PHASE: prints a finished run's output; sets RESULT and returns 0 if it passed.
report() {
    local backend=$1 phase=$2 rc
    rc=$(cat "$workdir/$phase-$backend.rc" 2>/dev/null || echo 1)
    log "=== $phase run, backend $backend: pytest exit $rc ==="
    cat "$workdir/$phase-$backend.log"
    case $rc in
        0) RESULT=passed ;;
        5) if [ "$phase" = timing ]; then RESULT=passed; else RESULT="failed (no tests collected)"; fi ;;
        *) RESULT="failed (pytest exit $rc)" ;;
    esac
    [ "$RESULT" = passed ]
}

backends=()
for backend in "${requested[@]}"; do
    if [ "$backend" = postgres ] && ! grep -q ANDON_TEST_PG_DSN "$workdir/services-postgres/env.sh"; then
        if in_ci; then
            # services_start already fails in CI without Postgres; this is a second guard.
            log "ERROR: ANDON_TEST_PG_DSN is unset (CI=true)"
            exit 1
        fi
        log "WARNING: no Postgres server; skipping the postgres run"
        continue
    fi
    backends+=("$backend")
done

status=0
declare -A verdict
started=$SECONDS
log "phase 1: ${backends[*]} side by side, without the timing tests"
for backend in "${backends[@]}"; do
    run_suite "$backend" main -m "not timing" "$@" &
done
wait
for backend in "${backends[@]}"; do
    report "$backend" main || status=1
    verdict[$backend]=$RESULT
done
log "phase 1 took $((SECONDS - started)) s"

started=$SECONDS
for backend in "${backends[@]}"; do
    log "phase 2: the timing tests on $backend, alone"
    run_suite "$backend" timing -m timing "$@"
    report "$backend" timing || status=1
    verdict[$backend]="${verdict[$backend]}; timing tests $RESULT"
done
log "phase 2 took $((SECONDS - started)) s"

echo
"$PYTHON" scripts/test_summary.py "$workdir"
for backend in "${backends[@]}"; do
    echo "$backend: ${verdict[$backend]}"
done
exit "$status"
