# shopfile: every file is its own shop.
#   make run    build, start a btcd regtest node, serve the shop on :2222
#   make test   every test: unit, integration (btcd regtest), OpenSSH end to end,
#               then the store/ledger/market/SSH suites again on PostgreSQL
GO       ?= go
BIN      := $(CURDIR)/bin
BTCD_VER := v0.24.2
DATA     ?= $(CURDIR)/data
export CGO_ENABLED := 1

.PHONY: build run test test-postgres test-short bench bench-postgres btcd fmt vet clean

build:
	$(GO) build -o $(BIN)/shopfile ./cmd/shopfile

# btcd and btcctl, installed from the module proxy into bin/ when absent.
btcd: $(BIN)/btcd $(BIN)/btcctl
$(BIN)/btcd $(BIN)/btcctl:
	GOBIN=$(BIN) $(GO) install github.com/btcsuite/btcd@$(BTCD_VER) github.com/btcsuite/btcd/cmd/btcctl@$(BTCD_VER)

run: build btcd
	$(BIN)/shopfile serve --data $(DATA) --chain regtest --btcd-exec $(BIN)/btcd

# The store, ledger, market and SSH suites run twice: on SQLite, and on a
# throwaway PostgreSQL cluster when its server is installed (.ci/postgres;
# each test gets a database of its own).
# Then two `shopfile serve` processes share one database (cmd/shopfile).
PG_TEST_PKGS := ./store/... ./market/... ./ssh/...

test: build btcd
	$(GO) vet ./...
	BTCD_BIN=$(BIN)/btcd SHOPFILE_BIN=$(BIN)/shopfile $(GO) test -race -count=1 -timeout 30m ./...
	$(MAKE) --no-print-directory test-postgres

# Only the PostgreSQL runs.
test-postgres: build btcd
	BTCD_BIN=$(BIN)/btcd SHOPFILE_BIN=$(BIN)/shopfile .ci/test-postgres -race -count=1 -timeout 30m $(PG_TEST_PKGS)
	BTCD_BIN=$(BIN)/btcd SHOPFILE_BIN=$(BIN)/shopfile .ci/test-postgres -race -count=1 -timeout 10m -run 'TestTwoServers' ./cmd/shopfile

test-short:
	$(GO) test -short -count=1 ./...

# Short versions of the throughput benchmarks (durable purchases through
# market.Buy and through real SSH sessions), then the package benchmarks.
bench: build
	$(BIN)/shopfile bench purchases --buyers 256 --accounts 100000 --duration 10s
	$(BIN)/shopfile bench ssh --connections 64 --duration 5s
	$(GO) test -run '^$$' -bench . -benchtime 10x ./market/container ./fingerprint

# The purchase benchmark on SQLite and on a throwaway, durable PostgreSQL
# cluster (fsync on, synchronous_commit on), same command, one after the other.
bench-postgres: build
	@dir=$$(mktemp -d /tmp/shopfile-pgbench.XXXXXX); \
	dsn=$$(.ci/postgres start $$dir) || exit 1; \
	$(BIN)/shopfile bench purchases --buyers 256 --accounts 100000 --duration 10s; rc=$$?; \
	$(BIN)/shopfile bench purchases --buyers 256 --accounts 100000 --duration 10s --db-driver postgres --db-dsn "$$dsn" || rc=$$?; \
	.ci/postgres stop $$dir; rm -rf $$dir; exit $$rc

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf $(BIN)/shopfile
