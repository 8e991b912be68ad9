# lockstorm: the two commands of the README are `make campaign` and `make test`.
GO       ?= go
BIN      := bin/lockstorm
# Packages of pure logic: cheap enough to run under the race detector.
RACE_PKGS := ./history/... ./checker/... ./workloads/... ./nemesis/schedule/... ./store/... ./campaign/... ./reports/... ./protocol/... ./plan/... ./option/...

.PHONY: all build test test-unit test-race test-docker campaign smoke bench fuzz extension image clean-docker

all: build

build:
	CGO_ENABLED=0 $(GO) build -o $(BIN) ./cmd/lockstorm

# Everything: vet, unit tests, race tests, then the tests against real
# containers and the headless-browser tests.
test: build
	$(GO) vet ./...
	$(GO) test -race -count=1 $(RACE_PKGS)
	$(GO) test -count=1 -timeout 45m -p 1 ./...

# Only what needs neither Docker nor a browser.
test-unit:
	$(GO) test -short -count=1 ./...

# The default campaign: the README's first command.
campaign: build
	$(BIN) campaign

# The short campaign that CI runs after the tests.
smoke: build
	$(BIN) campaign --smoke

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./checker/ ./reports/

# Fuzz the history reader, every checker, the campaign parser and the run
# flags for a bounded time each, as CI does (docs/robustness.md).
FUZZTIME ?= 30s
fuzz:
	$(GO) test ./history -run '^$$' -fuzz FuzzRead -fuzztime $(FUZZTIME)
	$(GO) test ./checker -run '^$$' -fuzz FuzzCheck -fuzztime $(FUZZTIME)
	$(GO) test ./campaign -run '^$$' -fuzz '^FuzzParseCampaign$$' -fuzztime $(FUZZTIME)
	$(GO) test ./cli -run '^$$' -fuzz '^FuzzRunFlags$$' -fuzztime $(FUZZTIME)

# The Go extension example: a module of its own that builds its own
# lockstorm binary, run once against its own target.
extension:
	cd examples/extension && CGO_ENABLED=0 $(GO) build -o ../../bin/lockstorm-extension .
	bin/lockstorm-extension targets | grep -q '^redis-setnx'
	bin/lockstorm-extension run --target redis-setnx --time-limit 10s --quiet

image: build
	$(BIN) image build

# Remove what killed runs left behind.
clean-docker: build
	$(BIN) clean
