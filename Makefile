# Everything needed to build, run and test choreo comes from go.mod (tool
# directives) and tools/natscli/go.mod: nothing has to be installed first.

# go.sum is committed, so builds verify against it; these modules are only
# exempt from the checksum database should one ever have to be fetched again.
export GONOSUMDB = github.com/mattn/goreman,github.com/nats-io/natscli,github.com/nats-io/jsm.go

# goreman's control port (goreman run stop order, …) listens on every
# interface unless told otherwise: loopback only.
export GOREMAN_RPC_ADDR = 127.0.0.1

# Chaos run size (make chaos SAGAS=1000 KILLS=40), and the size of the fault
# scenarios it runs too: orders flowing through a full disk, a wiped broker or
# a 409 storm, and events for one hot order. SECURE=1 runs the crash run in
# the secure profile (TLS, an identity per service, provisioning by the admin).
SAGAS ?= 300
KILLS ?= 12
FAULT_ORDERS ?= 1500
HOT_EVENTS ?= 20000
SECURE ?= 0
# The cluster run: sagas through a three-node cluster while the node leading
# the most streams is taken down CLUSTER_KILLS times (crash, lame duck, …).
CLUSTER_SAGAS ?= 600
CLUSTER_KILLS ?= 6
# make run-cluster PARTITIONS=n: how many partitions each service runs as
# (default 2); make chaos NODES=3 PARTITIONS=2 runs the crash run against a
# cluster of partitioned services (default one node, one partition).
NODES ?= 1
PARTITIONS ?=

.PHONY: build tools nats run run-secure run-cluster test bench bench-go chaos fuzz clean

## build: every command of the module (the services, the CLI, and a service
## added in a folder of its own) and the tools, all into bin/
build: tools
	go build -o bin/ $$(go list -f '{{if eq .Name "main"}}{{.ImportPath}}{{end}}' ./...)

## tools: nats-server and goreman into bin/
tools:
	@mkdir -p bin
	go build -o bin/nats-server github.com/nats-io/nats-server/v2
	go build -o bin/goreman github.com/mattn/goreman

## nats: the nats CLI into bin/ (the ecosystem's tool: stream and consumer
## reports, raw publishing); bin/choreo does the README's walk-through
## without it, and it is a long build, so only on demand
nats:
	@mkdir -p bin
	cd tools/natscli && go build -o ../../bin/nats github.com/nats-io/natscli/nats

## run: build, then start nats, the four services and the console
## (http://127.0.0.1:8080) from the Procfile
run: build
	mkdir -p data
	go tool goreman -f Procfile start

## run-secure: the production profile: TLS, an nkey identity per service and
## per role, each allowed only what it needs (docs/permissions.md). Makes the
## CA, certificates and seeds in data/secure on first run (mode 0600, never
## committed), then starts nats, provisions the streams and durables as admin,
## and starts the services, which may not create them
run-secure: build
	mkdir -p data
	bin/choreo secure init
	go tool goreman -f data/secure/Procfile start

## run-cluster: past one machine: a three-node JetStream cluster on loopback
## (cluster/nats-*.conf, streams of three replicas) and every service as
## PARTITIONS partitions (docs/scaling.md); its state is in data/cluster
run-cluster: build
	mkdir -p data/cluster
	bin/choreo cluster init -partitions $(or $(PARTITIONS),2)
	go tool goreman -f data/cluster/Procfile start

## test: vet, then every test with the race detector (embedded NATS, no system
## server), the saga suite again with every service in two partitions, then
## a short run of every fuzz target
test:
	go vet ./...
	go test -race -count=1 -timeout 12m ./...
	CHOREO_SAGATEST_PARTITIONS=2 go test -count=1 -timeout 5m ./sagatest
	$(MAKE) fuzz FUZZTIME=5s

## bench: the end-to-end benchmark: the stack as the Procfile starts it, with
## JetStream's sync_interval: always and with the default, then the secure
## profile (TLS, an identity per process) with always, compared with the plain
## run; writes bench/results*
bench: build
	bin/choreo bench -sync both -secure

## bench-go: every Go benchmark, no tests (benchstat-ready output)
bench-go:
	go test -run '^$$' -bench . -benchmem ./...

## chaos: the crash-and-restart saga run (real processes, killed at random),
## then the cluster run (a three-node cluster losing its busiest leader, by
## crash and by lame duck, services in partitions), then the fault scenarios at full size (disk full on a service and on NATS,
## a wiped broker, too-large events, a hot order, a 409 storm)
chaos: build
	CHOREO_CHAOS_SAGAS=$(SAGAS) CHOREO_CHAOS_KILLS=$(KILLS) CHOREO_CHAOS_SECURE=$(SECURE) \
		CHOREO_CHAOS_NODES=$(NODES) CHOREO_CHAOS_PARTITIONS=$(or $(PARTITIONS),1) \
		go test -count=1 -timeout 30m -run 'Chaos' -v ./sagatest/chaos/...
	CHOREO_CHAOS_CLUSTER_SAGAS=$(CLUSTER_SAGAS) CHOREO_CHAOS_CLUSTER_KILLS=$(CLUSTER_KILLS) CHOREO_CHAOS_PARTITIONS=$(or $(PARTITIONS),2) \
		go test -count=1 -timeout 30m -run 'ClusterLeaderKills' -v ./sagatest/chaos/...
	CHOREO_CHAOS_FAULT_ORDERS=$(FAULT_ORDERS) CHOREO_CHAOS_HOT_EVENTS=$(HOT_EVENTS) \
		go test -count=1 -timeout 60m -run 'DiskFull|Wiped|TooLarge|Parked|HotOrder|ConflictStorm' -v ./sagatest/chaos/...

## screenshots: take the console's pictures again (docs/console/*.png, shown
## in the README) in headless Chromium, of a test stack having a bad day
.PHONY: screenshots
screenshots:
	go test -count=1 -run Screenshots ./console -update

## schemas: rewrite the committed event schemas that may be rewritten: each
## public event type's current version (never an older one, never an
## incompatible change; the tests say what to do then)
.PHONY: schemas
schemas:
	go test -count=1 -run Schemas $$(go list -f '{{.ImportPath}} {{join .XTestImports " "}}' ./... | \
		awk '$$1 !~ /eventschematest$$/ && /eventschematest/ {print $$1}') -update

# Fuzz run length per target. The fuzzer shrinks each new interesting input
# for up to FUZZMINIMIZETIME (go's default is 60s) and explores nothing
# meanwhile: a short run would spend most of its time there.
FUZZTIME ?= 10s
FUZZMINIMIZETIME ?= 1s

# fuzz_run runs fuzz target $(1) in package $(2). Go 1.26's fuzz coordinator
# can end a run that found nothing with a bare "context deadline exceeded"
# when -fuzztime expires (go.dev/issue/75804, fixed in Go 1.27): a failure
# that wrote no failing input and says only that is a pass.
fuzz_run = cmd="go test -run '^$$' -fuzz '^$(1)$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) $(2)"; \
	echo "$$cmd"; log=$$(mktemp); \
	{ eval "$$cmd" 2>&1; echo $$? >"$$log.rc"; } | tee "$$log"; rc=$$(cat "$$log.rc"); \
	if [ "$$rc" != 0 ] && grep -q '^    context deadline exceeded$$' "$$log" && ! grep -q 'Failing input written to' "$$log"; then \
		echo "fuzz: $(1) hit go.dev/issue/75804 and found nothing: a pass"; rc=0; \
	fi; rm -f "$$log" "$$log.rc"; exit $$rc

## fuzz: a short run of every fuzz target (make fuzz FUZZTIME=1m); the seed
## corpora under testdata/fuzz run with every plain go test too
fuzz:
	@$(call fuzz_run,FuzzDecode,./shared/strictjson)
	@$(call fuzz_run,FuzzParse,./shared/envelope)
	@$(call fuzz_run,FuzzEncodeMatchesMarshal,./shared/envelope)
	@$(call fuzz_run,FuzzPlaceRequest,./order)

## clean: remove build output and runtime state
clean:
	rm -rf bin data
