#!/usr/bin/env bash
# librdkafka's own regression tests against a fresh Fjord broker (see ../shared/conformance/README.md).
#
# Usage: scripts/run-conformance.sh [TESTS]
#   TESTS  comma-separated 4-digit test numbers (e.g. 0001,0017), "all", or empty for every "core"
#          test of ../shared/conformance/librdkafka-tests.txt
#
# Environment:
#   FJORD_BIN         broker binary (default: .build/release/fjord)
#   CONFORMANCE_DIR   the shared conformance folder (default: ../shared/conformance next to the repo)
#   RESULTS_DIR       where results.tsv, logs/ and fjord.log go (default $LIBRDKAFKA_WORK/results-<time>)
#   anything run-librdkafka-suite.sh reads (LIBRDKAFKA_WORK, PER_TEST_TIMEOUT, TEST_CONF_EXTRA, ...)
#
# Starts `fjord broker` on a free 127.0.0.1 port with a new temp data dir (num.partitions=4 as librdkafka's test
# clusters have; group.initial.rebalance.delay.ms keeps Kafka's default of 3000 ms, which 0089 relies on: both of
# its consumers must land in the first generation), runs the suite against it,
# stops the broker (SIGTERM, SIGKILL after 10 s) and prints the suite's summary line last, together
# with whether the broker survived the run. Exit status: the suite's (0 = nothing failed, 1 = some
# test failed, 2 = setup error); 3 if the broker could not start.

set -u
set -o pipefail

# Everything is in main() and called on the last line: bash reads a script as it runs, so an edit of
# this file during a (15-minute) run would otherwise make the rest of the run execute garbage.
main() {
    REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    FJORD_BIN="${FJORD_BIN:-$REPO/.build/release/fjord}"
    CONFORMANCE_DIR="${CONFORMANCE_DIR:-$REPO/../shared/conformance}"
    SUITE="$CONFORMANCE_DIR/run-librdkafka-suite.sh"
    TESTS="${1:-}"

    log() { echo "[conformance] $*" >&2; }

    [[ -x "$FJORD_BIN" ]] || { log "fjord binary not found: $FJORD_BIN (make release, or set FJORD_BIN)"; exit 3; }
    [[ -x "$SUITE" ]] || { log "suite runner not found: $SUITE (set CONFORMANCE_DIR)"; exit 2; }

    export RESULTS_DIR="${RESULTS_DIR:-${LIBRDKAFKA_WORK:-/tmp/librdkafka-conformance}/results-$(date +%Y%m%d-%H%M%S)}"
    mkdir -p "$RESULTS_DIR"
    DATA_DIR="$(mktemp -d /tmp/fjord-conformance-data.XXXXXX)"
    BROKER_LOG="$RESULTS_DIR/fjord.log"
    PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    BROKER_PID=""

    stop_broker() {
        [[ -n "$BROKER_PID" ]] || return 0
        if kill -0 "$BROKER_PID" 2>/dev/null; then
            kill -TERM "$BROKER_PID" 2>/dev/null
            for _ in $(seq 100); do kill -0 "$BROKER_PID" 2>/dev/null || break; sleep 0.1; done
            if kill -0 "$BROKER_PID" 2>/dev/null; then
                log "broker pid $BROKER_PID ignored SIGTERM for 10s; SIGKILL"
                kill -KILL "$BROKER_PID" 2>/dev/null
            fi
        fi
        wait "$BROKER_PID" 2>/dev/null
        BROKER_PID=""
    }
    cleanup() { stop_broker; rm -rf "$DATA_DIR"; }
    trap cleanup EXIT
    trap 'exit 130' INT TERM

    "$FJORD_BIN" broker \
        --override "listeners=PLAINTEXT://127.0.0.1:$PORT" \
        --override "log.dirs=$DATA_DIR" \
        --override "node.id=1" \
        --override "metrics.listener=127.0.0.1:0" \
        --override "auto.create.topics.enable=true" \
        --override "num.partitions=4" \
        </dev/null >"$BROKER_LOG" 2>&1 &
    BROKER_PID=$!

    for _ in $(seq 300); do
        if ! kill -0 "$BROKER_PID" 2>/dev/null; then
            wait "$BROKER_PID"; rc=$?; BROKER_PID=""
            log "fjord exited with $rc at start-up:"; tail -20 "$BROKER_LOG" >&2; exit 3
        fi
        (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
        sleep 0.1
    done
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || { log "fjord did not listen on $PORT within 30s"; exit 3; }
    log "fjord $FJORD_BIN pid $BROKER_PID on 127.0.0.1:$PORT, data $DATA_DIR, log $BROKER_LOG"

    "$SUITE" "127.0.0.1:$PORT" $TESTS >"$RESULTS_DIR/summary.txt"
    rc=$?

    if kill -0 "$BROKER_PID" 2>/dev/null; then
        alive="broker still running after the suite"
    else
        wait "$BROKER_PID"; alive="BROKER EXITED during the suite with status $? (see $BROKER_LOG)"; BROKER_PID=""
        [[ $rc -eq 0 ]] && rc=1
    fi
    stop_broker

    log "results: $RESULTS_DIR/results.tsv, logs: $RESULTS_DIR/logs/, broker log: $BROKER_LOG"
    log "$alive"
    tail -1 "$RESULTS_DIR/summary.txt"
    exit $rc
}

main "$@"
exit $?
