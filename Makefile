# Everything needed to build, run and test choreo comes from go.mod (tool
# directives) and tools/natscli/go.mod: nothing has to be installed first.

# go.sum is committed, so builds verify against it; these modules are only
# exempt from the checksum database should one ever have to be fetched again.
export GONOSUMDB = github.com/mattn/goreman,github.com/nats-io/natscli,github.com/nats-io/jsm.go

# Chaos run size (make chaos SAGAS=1000 KILLS=40).
SAGAS ?= 300
KILLS ?= 12

.PHONY: build tools run test bench chaos fuzz clean

## build: the services and CLI (./cmd/...) and the tools, all into bin/
build: tools
	go build -o bin/ ./cmd/...

## tools: nats-server, goreman and the nats CLI into bin/
tools:
	@mkdir -p bin
	go build -o bin/nats-server github.com/nats-io/nats-server/v2
	go build -o bin/goreman github.com/mattn/goreman
	cd tools/natscli && go build -o ../../bin/nats github.com/nats-io/natscli/nats

## run: build, then start nats and the four services from the Procfile
run: build
	mkdir -p data
	bin/goreman -f Procfile start

## test: vet, then every test with the race detector (embedded NATS, no system server)
test:
	go vet ./...
	go test -race -count=1 -timeout 12m ./...

## bench: every benchmark, no tests
bench:
	go test -run '^$$' -bench . -benchmem ./...

## chaos: the crash-and-restart saga run (real processes, killed at random)
chaos: build
	CHOREO_CHAOS_SAGAS=$(SAGAS) CHOREO_CHAOS_KILLS=$(KILLS) \
		go test -count=1 -timeout 30m -run Chaos -v ./sagatest/chaos/...

## fuzz: placeholder until the fuzz targets exist
fuzz:
	@echo "fuzz: no fuzz targets yet"

## clean: remove build output and runtime state
clean:
	rm -rf bin data
