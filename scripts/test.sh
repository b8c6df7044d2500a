#!/usr/bin/env bash
# Runs the test suite against real Postgres, Redis and Mosquitto started just for this run.
#
#   bash scripts/test.sh [pytest args...]
#
# The suite runs twice, once per database backend, each in its own pytest process: Tortoise
# cannot switch SQL dialects inside one process (see shared/TOOLCHAIN.md), so
#   ANDON_TEST_BACKEND=sqlite   python -m pytest ARGS
#   ANDON_TEST_BACKEND=postgres python -m pytest ARGS
# Both runs always happen; the exit code is non-zero if either failed. pytest's exit code 5
# (no tests collected) counts as a failure: a suite that runs nothing must not look green.
#
# With CI=true a service that does not start fails the run. Locally it is a warning, its
# ANDON_TEST_* variable stays unset and the tests that need it skip themselves; without Postgres
# the postgres run is skipped altogether.
set -uo pipefail # no -e: the second run must happen even when the first one fails

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
PYTHON=${PYTHON:-.venv/bin/python}

# shellcheck source=scripts/services.sh
source scripts/services.sh

log() { printf 'test.sh: %s\n' "$*" >&2; }
in_ci() { [ "${CI:-}" = "true" ]; }

if [ ! -x "$PYTHON" ]; then
    log "$PYTHON not found; run 'make install' (or 'make test', which installs first)"
    exit 1
fi

workdir=$(mktemp -d "${TMPDIR:-/tmp}/andon-test.XXXXXX") || exit 1

# Whatever happens (success, failure, Ctrl-C, kill), stop the servers and delete their data.
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
    services_stop "$workdir"
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
services_start "$workdir" || exit 1
# shellcheck source=/dev/null
source "$workdir/env.sh"
log "services: PG=${ANDON_TEST_PG_DSN:-unset} REDIS=${ANDON_TEST_REDIS_URL:-unset} MQTT=${ANDON_TEST_MQTT_URL:-unset}"

# run_suite BACKEND ARGS...: runs pytest for one backend, sets RESULT to a word for the summary
# and returns 0 only if the run passed.
run_suite() {
    local backend=$1 rc
    shift
    log "=== backend: $backend ==="
    # The JUnit report is only read for the totals line at the end.
    ANDON_TEST_BACKEND=$backend "$PYTHON" -m pytest --junitxml="$workdir/junit-$backend.xml" "$@"
    rc=$?
    case $rc in
        0) RESULT=passed ;;
        5) RESULT="failed (no tests collected)" ;;
        *) RESULT="failed (pytest exit $rc)" ;;
    esac
    [ "$rc" -eq 0 ]
}

status=0

run_suite sqlite "$@" || status=1
sqlite_result=$RESULT

if [ -n "${ANDON_TEST_PG_DSN:-}" ]; then
    run_suite postgres "$@" || status=1
    postgres_result=$RESULT
elif in_ci; then
    # services_start already fails in CI without Postgres; this is a second guard.
    log "ERROR: ANDON_TEST_PG_DSN is unset (CI=true)"
    postgres_result="failed (no Postgres)"
    status=1
else
    log "WARNING: no Postgres server; skipping the postgres run"
    postgres_result="skipped (no Postgres)"
fi

# Totals over both runs from the JUnit reports, printed as 'N passed, N failed, N skipped'.
totals=$(python3 - "$workdir"/junit-*.xml <<'EOF' 2>/dev/null
import sys
import xml.etree.ElementTree as ET

tests = failed = skipped = 0
for path in sys.argv[1:]:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        continue
    for suite in root.iter("testsuite"):
        tests += int(suite.get("tests", 0))
        failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped += int(suite.get("skipped", 0))
if tests or failed:
    print(f"{tests - failed - skipped} passed, {failed} failed, {skipped} skipped")
EOF
)

echo
echo "sqlite: $sqlite_result, postgres: $postgres_result"
[ -n "$totals" ] && echo "total: $totals"
exit "$status"
