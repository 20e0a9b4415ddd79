# Fjord: build, run and test. See DESIGN.md §4.
#   make deps     Debian packages (only those missing) + .venv with pinned Python clients
#   make build    debug build            make release  release build
#   make run      release build, then `fjord broker` (extra flags: make run ARGS="...")
#   make cluster  release build, then `fjord dev cluster --nodes 3` (three KRaft nodes in ./fjord-cluster; ARGS="...")
#   make test     deps, build, swift test, then the interop suite (pytest)
#   make interop  deps, build, interop suite only
#   make docs     FjordClient documentation (DocC) into .build/docs
#   make lint     swift-format (the toolchain's) checks every Swift file but the generated ones (.swift-format:
#                 120 columns); `make format` rewrites them
#   make bench    broker and client benchmarks, every case 3 times (BASELINE=<rev>: + that revision as a third
#                 broker); Benchmarks/README.md
#   make capture  interop suite behind a recording proxy -> KafkaProtocolTests' captured-bytes corpus
#   make clean    remove .build

SWIFT   ?= swift
PYTHON  ?= python3
VENV    ?= .venv
ARGS    ?=

# openjdk-17-jdk-headless: javac/java for the Java-client interop tests (Tests/Interop/test_java_client.py)
# openssl: the TLS tests make their certificate authority and certificates at test time (Tests/Interop/tls_certs.py)
APT_PACKAGES  := zlib1g-dev liblz4-dev libzstd-dev libsnappy-dev kcat pkg-config openjdk-17-jdk-headless openssl
REQUIREMENTS  := Tests/Interop/requirements.txt
VENV_STAMP    := $(VENV)/.fjord-requirements.txt
FJORD_BIN     ?= $(CURDIR)/.build/debug/fjord
RUN_INTEROP    = FJORD_BIN=$(FJORD_BIN) $(VENV)/bin/pytest -q Tests/Interop

.PHONY: all deps apt-deps venv build release run cluster test interop clean bench bench-baseline conformance docs capture

all: build

deps: apt-deps venv

# Installs only what dpkg does not report as installed; `apt-get update` only then.
apt-deps:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
	  dpkg -s $$p 2>/dev/null | grep -q '^Status: install ok installed' || missing="$$missing $$p"; \
	done; \
	if ! $(PYTHON) -c 'import ensurepip, venv' >/dev/null 2>&1 && [ ! -x $(VENV)/bin/python ]; then \
	  missing="$$missing python3-venv"; \
	fi; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo"; \
	else \
	  echo "make deps: missing Debian packages:$$missing" >&2; \
	  echo "make deps: not root and no passwordless sudo; run as root:" >&2; \
	  echo "  apt-get update && apt-get install -y$$missing" >&2; \
	  exit 1; \
	fi; \
	echo "make deps: installing$$missing"; \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing

# (Re)installs the venv only when it is missing or the requirements changed.
venv: apt-deps
	@if [ -x $(VENV)/bin/python ] && cmp -s $(REQUIREMENTS) $(VENV_STAMP); then exit 0; fi; \
	echo "make deps: installing $(REQUIREMENTS) into $(VENV)"; \
	set -e; \
	[ -x $(VENV)/bin/python ] || $(PYTHON) -m venv $(VENV); \
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check -r $(REQUIREMENTS); \
	cp $(REQUIREMENTS) $(VENV_STAMP)

build: apt-deps
	$(SWIFT) build

release: apt-deps
	$(SWIFT) build -c release

run: release
	.build/release/fjord broker $(ARGS)

cluster: release
	.build/release/fjord dev cluster --nodes 3 $(ARGS)

test: deps build
	$(SWIFT) test
	$(RUN_INTEROP)

interop: deps build
	$(RUN_INTEROP)

clean:
	rm -rf .build

# The generated protocol code is the generator's output, byte for byte (GeneratedCodeIsCurrentTests): not formatted.
SWIFT_FILES = $(shell git ls-files '*.swift' | grep -v '/Generated/')
lint:
	$(SWIFT) format lint --strict $(SWIFT_FILES)

format:
	$(SWIFT) format -i $(SWIFT_FILES)

# Benchmarks/README.md: Fjord (release) and Tansu driven by confluent-kafka, each case BENCH_REPEAT times (median and
# spread), then FjordClient against librdkafka (from C) on Fjord; writes Benchmarks/results/<date>.md with SVG charts.
#   make bench BENCH_ARGS="--quick" CLIENT_BENCH_ARGS="--quick"   (extra flags for broker_bench.py, client_bench.py)
#   make bench BASELINE=864d475      (also runs that revision's release build as a third broker, fjord-baseline:
#                                     a same-run regression check; built by bench-baseline, never committed)
#   make bench BENCH_SCRATCH=.build-bench   (the release build in its own scratch path, leaving .build to others)
BENCH_ARGS     ?=
CLIENT_BENCH_ARGS ?=
BENCH_REPEAT   ?= 3
BENCH_SCRATCH  ?= .build
BENCH_BIN       = $(CURDIR)/$(BENCH_SCRATCH)/release
BENCH_DATE     := $(shell date +%Y-%m-%d)
BENCH_DIR      := Benchmarks/results
BASELINE       ?=
BASELINE_DIR   ?= /tmp/fjord-bench-baseline
BASELINE_BIN   := $(BASELINE_DIR)/.build-baseline/release/fjord
LIBRDKAFKA_BENCH := .build/bench/librdkafka-bench
bench: venv $(LIBRDKAFKA_BENCH) $(if $(BASELINE),bench-baseline)
	$(SWIFT) build -c release --scratch-path $(BENCH_SCRATCH)
	mkdir -p $(BENCH_DIR)
	$(VENV)/bin/python Benchmarks/broker_bench.py --fjord $(BENCH_BIN)/fjord \
	  $(if $(BASELINE),--fjord-baseline $(BASELINE_BIN)) --repeat $(BENCH_REPEAT) \
	  --json $(BENCH_DIR)/$(BENCH_DATE)-broker.json $(BENCH_ARGS) | tee $(BENCH_DIR)/$(BENCH_DATE)-broker.md
	$(VENV)/bin/python Benchmarks/client_bench.py --fjord $(BENCH_BIN)/fjord \
	  --client-bench $(BENCH_BIN)/fjord-client-bench --librdkafka-bench $(CURDIR)/$(LIBRDKAFKA_BENCH) \
	  --repeat $(BENCH_REPEAT) \
	  --json $(BENCH_DIR)/$(BENCH_DATE)-client.json $(CLIENT_BENCH_ARGS) | tee $(BENCH_DIR)/$(BENCH_DATE)-client.md
	$(VENV)/bin/python Benchmarks/report.py --broker $(BENCH_DIR)/$(BENCH_DATE)-broker.json \
	  --client $(BENCH_DIR)/$(BENCH_DATE)-client.json --out $(BENCH_DIR)

# The metadata quorum (Benchmarks/quorum_bench.py, README "Metadata quorum benchmark"): leader failover after SIGKILL
# of the active controller over QUORUM_KILLS kills and CreateTopics latency over QUORUM_TOPICS topics, on three
# combined nodes with default settings (release build).
#   make bench-quorum QUORUM_KILLS=5 QUORUM_TOPICS=50
QUORUM_KILLS  ?= 20
QUORUM_TOPICS ?= 200
.PHONY: bench-quorum
bench-quorum: venv
	$(SWIFT) build -c release --product fjord --scratch-path $(BENCH_SCRATCH)
	$(VENV)/bin/python Benchmarks/quorum_bench.py --fjord $(BENCH_BIN)/fjord --kills $(QUORUM_KILLS) \
	  --topics $(QUORUM_TOPICS)

# Replication (Benchmarks/replication_bench.py, README "Replication benchmark"): acks=all throughput and the brokers'
# CPU per MB, one node with replication factor 1 against three nodes with replication factor 3 (REPLICATION_REPEAT
# runs each), and produce unavailability after the leader's SIGKILL and controlled shutdown (REPLICATION_KILLS each).
#   make bench-replication REPLICATION_KILLS=5 REPLICATION_REPEAT=1
REPLICATION_KILLS  ?= 20
REPLICATION_REPEAT ?= 3
.PHONY: bench-replication
bench-replication: venv
	$(SWIFT) build -c release --product fjord --scratch-path $(BENCH_SCRATCH)
	$(VENV)/bin/python Benchmarks/replication_bench.py --fjord $(BENCH_BIN)/fjord --kills $(REPLICATION_KILLS) \
	  --repeat $(REPLICATION_REPEAT)

# Metadata at scale (Benchmarks/metadata_bench.py, Benchmarks/README.md "Metadata propagation and a 100,000-partition
# image"): propagation delay from commit to every node's image over METADATA_CHANGES topic creations, then
# METADATA_TOPICS x METADATA_PARTITIONS partitions created, snapshotted, each node's start-up with that image timed
# (METADATA_RESTARTS restarts: load time, RSS) and deleted again, on three combined nodes (release build).
#   make bench-metadata METADATA_CHANGES=50 METADATA_TOPICS=100      (a quick run: 10,000 partitions)
METADATA_CHANGES    ?= 200
METADATA_TOPICS     ?= 1000
METADATA_PARTITIONS ?= 100
METADATA_RESTARTS   ?= 3
.PHONY: bench-metadata
bench-metadata: venv
	$(SWIFT) build -c release --product fjord --scratch-path $(BENCH_SCRATCH)
	mkdir -p $(BENCH_DIR)
	$(VENV)/bin/python Benchmarks/metadata_bench.py --fjord $(BENCH_BIN)/fjord --changes $(METADATA_CHANGES) \
	  --topics $(METADATA_TOPICS) --partitions $(METADATA_PARTITIONS) --restarts $(METADATA_RESTARTS) \
	  --json $(BENCH_DIR)/$(BENCH_DATE)-metadata.json | tee $(BENCH_DIR)/$(BENCH_DATE)-metadata.md

# librdkafka driven from C for client_bench.py (loads librdkafka with dlopen: no headers needed).
$(LIBRDKAFKA_BENCH): Benchmarks/LibrdkafkaBenchmark/librdkafka_bench.c
	mkdir -p $(dir $@)
	$(CC) -O2 -Wall -o $@ $< -ldl

# The release build of BASELINE (a git revision) in a detached worktree at BASELINE_DIR, scratch path .build-baseline
# there; the worktree is reused (checked out to the revision) so a second run rebuilds incrementally.
#   make bench-baseline BASELINE=864d475      (git worktree remove $(BASELINE_DIR) to drop it)
bench-baseline:
	@test -n "$(BASELINE)" || { echo "make bench-baseline: set BASELINE=<git revision>" >&2; exit 1; }
	set -e; rev=$$(git rev-parse --verify "$(BASELINE)^{commit}"); \
	if git -C $(BASELINE_DIR) rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
	  git -C $(BASELINE_DIR) checkout -q --detach $$rev; \
	else git worktree add -f -q --detach $(BASELINE_DIR) $$rev; fi; \
	cd $(BASELINE_DIR) && $(SWIFT) build -c release --scratch-path .build-baseline --product fjord

# FjordClient's DocC catalog (Sources/FjordClient/FjordClient.docc) as a static site in .build/docs.
docs:
	$(SWIFT) package --allow-writing-to-directory .build/docs generate-documentation --target FjordClient \
	  --output-path .build/docs --transform-for-static-hosting

# librdkafka's regression tests against a fresh release broker (../shared/conformance/README.md).
#   make conformance TESTS=0001,0017     (default: every "core" test; TESTS=all for the whole list)
#   make conformance CLUSTER=3           (against `fjord dev cluster --nodes 3` instead of one node)
#   make conformance CLUSTER=3 REPLICATION=3   (and every auto-created topic replicated on the three brokers)
TESTS          ?=
CLUSTER        ?=
conformance: release
	FJORD_BIN=$(CURDIR)/.build/release/fjord CLUSTER=$(CLUSTER) REPLICATION=$(REPLICATION) scripts/run-conformance.sh $(TESTS)

# The captured-bytes corpus of KafkaProtocolTests (Tests/KafkaProtocolTests/Fixtures/Captured, checked by
# CapturedCorpusTests): the interop suite with every Fjord broker behind the recording proxy of
# Tests/Interop/tools/wire_capture.py, then merged into the corpus (an exchange replaces the one of the same client,
# API key and version). A test that fails under capture is reported but does not stop the merge; the merge fails
# if a client of CAPTURE_REQUIRE has no exchange in the corpus.
#   make capture CAPTURE_TESTS="Tests/Interop/test_groups.py Tests/Interop/test_java_client.py"
#   make capture CAPTURE_MERGE=--prune     (drop what a captured client no longer sends; use with the whole suite)
CAPTURE_DIR     ?= $(CURDIR)/.build/capture
CAPTURE_TESTS   ?= Tests/Interop
CAPTURE_MERGE   ?=
CAPTURE_REQUIRE ?= librdkafka,kcat,kafka-python,aiokafka,java,fjordclient
capture: deps build
	rm -rf $(CAPTURE_DIR)
	-FJORD_CAPTURE_DIR=$(CAPTURE_DIR) FJORD_BIN=$(FJORD_BIN) $(VENV)/bin/pytest -q $(CAPTURE_TESTS)
	$(VENV)/bin/python Tests/Interop/tools/wire_capture.py merge $(CAPTURE_MERGE) --require $(CAPTURE_REQUIRE) \
	  $(CAPTURE_DIR) Tests/KafkaProtocolTests/Fixtures/Captured
