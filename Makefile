# OpenCommerce — one binary, six modules. See README.md.
GO        ?= go
BIN       := bin/opencommerce
PKGS      := ./...
export CGO_ENABLED ?= 1

.PHONY: all build build-static image run demo test test-deploy deploy-tools lint schemas check-schemas docs bench deps clean

all: build

build:
	$(GO) build -trimpath -o $(BIN) ./cmd/opencommerce

## build-static: the binary of the release image (no cgo: it runs FROM scratch)
build-static:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w" -o bin/opencommerce-static ./cmd/opencommerce

## image: the release image without a registry (Dockerfile.release over build-static)
image: build-static
	docker build -f Dockerfile.release -t opencommerce:dev bin/

## deploy-tools: Docker, and Nomad, Consul, Prometheus built from their Go modules (cached by version)
deploy-tools:
	scripts/deploy-tools.sh all

## deps: start PostgreSQL, Redis, RabbitMQ and NATS if they are not running
deps:
	scripts/deps.sh

## run: the whole platform in one process on the local servers, with a
## Mailpit catching its emails (web inbox on http://127.0.0.1:8025)
run: build
	scripts/deps.sh --run
	OC_NATS_URL=$${OC_NATS_URL-nats://127.0.0.1:4222} $(BIN) -target=all

## demo: seed a demo shop through the gateway of a running platform (make
## run); DEMO_ARGS=-remove deletes it. Needs OC_USER_BOOTSTRAP_ADMIN_EMAIL
## and OC_USER_BOOTSTRAP_ADMIN_PASSWORD (the admin the platform made).
demo: build
	$(BIN) demo $(DEMO_ARGS)

## schemas: regenerate the JSON Schema files from the contracts
schemas:
	$(GO) run ./cmd/opencommerce gen-schemas -out contracts/schema

check-schemas:
	$(GO) run ./cmd/opencommerce gen-schemas -out contracts/schema -check

## lint: gofmt, vet, staticcheck, and the served OpenAPI document against Redocly's recommended rules
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) tool staticcheck $(PKGS)
	scripts/lint-openapi.sh

## docs: regenerate the API reference (docs/API.md) from the route table, the
## table of every setting in README.md from the flags and the module jobs nomad/*.nomad.hcl
## from their template (tools/nomadgen); go test fails while any is stale
docs:
	$(GO) run ./cmd/opencommerce gen-api-docs -out docs/API.md
	$(GO) run ./cmd/opencommerce gen-config-docs -out README.md
	$(GO) run ./cmd/opencommerce gen-nomad -out nomad

## test: every test, against the real servers (started here if needed)
test: 
	scripts/deps.sh --test
	$(MAKE) lint check-schemas
	OC_REQUIRE_SERVERS=1 $(GO) test -race -count=1 -timeout 14m $(PKGS)
	# Allocation guards: the race detector changes allocation counts, so
	# they run once more without it.
	OC_REQUIRE_SERVERS=1 $(GO) test -count=1 -run 'Alloc' ./internal/bus/ ./internal/discovery/ ./edge/cache/ ./edge/
	$(MAKE) test-deploy

## test-deploy: the Nomad jobs deployed for real on Consul, Nomad and Docker
## (tools/deploytest/live; see nomad/README.md)
test-deploy: build-static deploy-tools
	scripts/deps.sh --test
	OC_DEPLOY_TEST=1 \
	OC_NOMAD_BIN=$$(scripts/deploy-tools.sh path nomad) \
	OC_CONSUL_BIN=$$(scripts/deploy-tools.sh path consul) \
	OC_PROMETHEUS_BIN=$$(scripts/deploy-tools.sh path prometheus) \
	$(GO) test -count=1 -v -timeout 30m -run 'TestDeployOnNomad' ./tools/deploytest/live/

## bench: baselines and the platform's figures in one run (see BENCHMARKS.md)
bench: deps build
	$(BIN) bench -out .bench/results.json

clean:
	rm -rf bin .bench
