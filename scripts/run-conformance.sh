#!/usr/bin/env bash
# librdkafka's own regression tests against a fresh Fjord broker (see ../shared/conformance/README.md).
#
# Usage: scripts/run-conformance.sh [TESTS]
#   TESTS  comma-separated 4-digit test numbers (e.g. 0001,0017), "all", or empty for every "core"
#          test of ../shared/conformance/librdkafka-tests.txt
#
# Environment:
#   FJORD_BIN         broker binary (default: .build/release/fjord)
#   CLUSTER           N (2-9) = run against `fjord dev cluster --nodes N` (combined KRaft nodes) instead of one
#                     node; the suite bootstraps from every node's listener. Empty or 1 = one node (default).
#   REPLICATION       with CLUSTER: the cluster's default.replication.factor (default 1; 3 puts every auto-created
#                     topic on three brokers, so every partition is replicated and has followers).
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
#
# With CLUSTER=N: `fjord dev cluster --nodes N` in a temp folder with the same overrides on every node (4 partitions
# per auto-created topic over N brokers, replication factor 1: every topic has leaders on several brokers); the run
# starts once DescribeCluster through every node lists all N brokers (all registered and unfenced). The nodes' logs
# are copied to RESULTS_DIR/node<N>.log; "survived" means every node still ran after the suite.

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

    NODES="${CLUSTER:-1}"
    [[ "$NODES" =~ ^[1-9]$ ]] || { log "CLUSTER must be a node count from 1 to 9, got '$NODES'"; exit 2; }

    export RESULTS_DIR="${RESULTS_DIR:-${LIBRDKAFKA_WORK:-/tmp/librdkafka-conformance}/results-$(date +%Y%m%d-%H%M%S)}"
    mkdir -p "$RESULTS_DIR"
    DATA_DIR="$(mktemp -d /tmp/fjord-conformance-data.XXXXXX)"
    BROKER_LOG="$RESULTS_DIR/fjord.log"
    PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    BROKER_PID=""
    NODE_PIDS=""
    # `fjord dev cluster` gives its nodes 30 s to stop before it kills them.
    STOP_GRACE_S=10
    [[ "$NODES" -gt 1 ]] && STOP_GRACE_S=45

    stop_broker() {
        [[ -n "$BROKER_PID" ]] || return 0
        if kill -0 "$BROKER_PID" 2>/dev/null; then
            kill -TERM "$BROKER_PID" 2>/dev/null
            for _ in $(seq $((STOP_GRACE_S * 10))); do kill -0 "$BROKER_PID" 2>/dev/null || break; sleep 0.1; done
            if kill -0 "$BROKER_PID" 2>/dev/null; then
                log "pid $BROKER_PID ignored SIGTERM for ${STOP_GRACE_S}s; SIGKILL"
                kill -KILL "$BROKER_PID" 2>/dev/null
            fi
        fi
        wait "$BROKER_PID" 2>/dev/null
        BROKER_PID=""
        # Nodes a killed `fjord dev cluster` left behind.
        for pid in $NODE_PIDS; do kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null; done
        NODE_PIDS=""
    }

    # The nodes of a cluster that are no longer running (empty: all run, or a single node).
    dead_nodes() {
        local pid dead=""
        for pid in $NODE_PIDS; do kill -0 "$pid" 2>/dev/null || dead="$dead $pid"; done
        echo "${dead# }"
    }
    start_single() {
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
        BOOTSTRAP="127.0.0.1:$PORT"
    }

    # `fjord dev cluster` prints the node table (id, pid, broker, controller, ...) and, once the quorum has a leader
    # and every broker listener accepts, "Bootstrap servers: a,b,c".
    start_cluster() {
        "$FJORD_BIN" dev cluster --nodes "$NODES" --dir "$DATA_DIR/cluster" \
            --override "auto.create.topics.enable=true" \
            --override "num.partitions=4" \
            --override "default.replication.factor=${REPLICATION:-1}" \
            </dev/null >"$BROKER_LOG" 2>&1 &
        BROKER_PID=$!
        BOOTSTRAP=""
        for _ in $(seq 1800); do
            if ! kill -0 "$BROKER_PID" 2>/dev/null; then
                wait "$BROKER_PID"; rc=$?; BROKER_PID=""
                log "fjord dev cluster exited with $rc at start-up:"; tail -20 "$BROKER_LOG" >&2; exit 3
            fi
            BOOTSTRAP="$(sed -n 's/^Bootstrap servers: //p' "$BROKER_LOG" | head -1)"
            [[ -n "$BOOTSTRAP" ]] && break
            sleep 0.1
        done
        [[ -n "$BOOTSTRAP" ]] || { log "fjord dev cluster printed no bootstrap list within 180s"; exit 3; }
        NODE_PIDS="$(awk '$1 ~ /^[0-9]+$/ && $2 ~ /^[0-9]+$/ && $3 ~ /^127\.0\.0\.1:/ {print $2}' "$BROKER_LOG" | paste -sd' ')"
        # Every node must list every broker: each registered with the active controller and was unfenced.
        local ready=""
        for _ in $(seq 600); do
            ready=1
            for address in ${BOOTSTRAP//,/ }; do
                brokers="$("$FJORD_BIN" cluster describe --bootstrap "$address" --format json 2>/dev/null \
                    | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["brokers"]))' 2>/dev/null)"
                [[ "$brokers" == "$NODES" ]] || { ready=""; break; }
            done
            [[ -n "$ready" ]] && break
            sleep 0.1
        done
        [[ -n "$ready" ]] || { log "not every node listed $NODES unfenced brokers within 60s+"; exit 3; }
        log "fjord dev cluster pid $BROKER_PID: $NODES nodes (pids $NODE_PIDS) at $BOOTSTRAP, data $DATA_DIR"
    }

    cleanup() {
        stop_broker
        local node
        for node in "$DATA_DIR"/cluster/node*/; do
            [[ -f "$node/node.log" ]] && cp "$node/node.log" "$RESULTS_DIR/$(basename "$node").log"
        done
        rm -rf "$DATA_DIR"
    }
    trap cleanup EXIT
    trap 'exit 130' INT TERM

    if [[ "$NODES" -gt 1 ]]; then
        start_cluster
    else
        start_single
    fi

    "$SUITE" "$BOOTSTRAP" $TESTS >"$RESULTS_DIR/summary.txt"
    rc=$?

    dead="$(dead_nodes)"
    if [[ -n "$dead" ]]; then
        alive="NODES EXITED during the suite: pids $dead (see $RESULTS_DIR/node*.log)"
        [[ $rc -eq 0 ]] && rc=1
    elif kill -0 "$BROKER_PID" 2>/dev/null; then
        alive="broker still running after the suite"
    else
        wait "$BROKER_PID"; alive="BROKER EXITED during the suite with status $? (see $BROKER_LOG)"; BROKER_PID=""
        [[ $rc -eq 0 ]] && rc=1
    fi
    stop_broker

    log "results: $RESULTS_DIR/results.tsv, logs: $RESULTS_DIR/logs/, broker log: $BROKER_LOG$(
        [[ "$NODES" -gt 1 ]] && echo ", node logs: $RESULTS_DIR/node*.log")"
    log "$alive"
    tail -1 "$RESULTS_DIR/summary.txt"
    exit $rc
}

main "$@"
exit $?
