# lockstorm: the two commands of the README are `make campaign` and `make test`.
GO       ?= go
BIN      := bin/lockstorm
# Packages of pure logic: cheap enough to run under the race detector.
RACE_PKGS := ./history/... ./checker/... ./workloads/... ./nemesis/schedule/... ./store/... ./campaign/... ./reports/...

.PHONY: all build test test-unit test-race test-docker campaign smoke bench fuzz image clean-docker

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

# The fuzz tests, each for a bounded time (docs/robustness.md).
FUZZTIME ?= 60s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParseCampaign$$' -fuzztime $(FUZZTIME) ./campaign/
	$(GO) test -run '^$$' -fuzz '^FuzzRunFlags$$' -fuzztime $(FUZZTIME) ./cli/

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./checker/ ./reports/

image: build
	$(BIN) image build

# Remove what killed runs left behind.
clean-docker: build
	$(BIN) clean
