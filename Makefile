# advicechat: the two commands a new machine needs are `make run` and
# `make test`; the rest is for developers and operators.
GO      ?= go
BIN     ?= bin/advicechat
FUZZTIME ?= 60s

.PHONY: run test lint build fuzz docker clean load soak screenshots deploy-check bench

## run: start the service on an embedded Redis at http://127.0.0.1:8080/
run:
	$(GO) run ./cmd/advicechat

## test: every test, with the race detector (ADVICECHAT_TEST_REDIS_URL selects a real Redis)
test:
	$(GO) test -race -count=1 -timeout 15m ./...

## lint: formatting and vet
lint:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# VERSION and REVISION are stamped into the binary (`advicechat version`,
# advicechat_build_info): the nearest tag and the commit, by default.
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS  := -s -w -X main.version=$(VERSION) -X main.revision=$(REVISION)

## build: a static binary in bin/, with VERSION and REVISION stamped in
build:
	CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=false -ldflags="$(LDFLAGS)" -o $(BIN) ./cmd/advicechat

## fuzz: run each fuzz target for FUZZTIME (the seed corpora run in `make test`)
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

## load: the load tool's baseline (one instance, real redis-server, no faults) at LOAD_RATE conversations/s for LOAD_TIME; see docs/delivery.md
LOAD_RATE ?= 40
LOAD_TIME ?= 30s
load:
	ADVICECHAT_SOAK=$(LOAD_TIME) ADVICECHAT_LOAD_RATE=$(LOAD_RATE) $(GO) test -count=1 -timeout 30m -run '^TestLoadBaseline$$' -v ./cmd/advicechat-load

## soak: every fault test of the load tool with SOAK of load each (not part of `make test`)
SOAK ?= 60s
soak:
	ADVICECHAT_SOAK=$(SOAK) $(GO) test -race -count=1 -timeout 60m -run '^Test(Fault|Load)' -v ./cmd/advicechat-load

## bench: the benchmark against Centrifugo (Redis engine, history on) and a bare coder/websocket relay, in one run (needs redis-server; builds Centrifugo from the Go module proxy once; 10 to 15 minutes); BENCH_FLAGS e.g. -short or -only relay,cost; see docs/performance.md
BENCH_FLAGS ?=
# CENTRIFUGO_VERSION is cmd/advicechat-bench's CentrifugoVersion (a test checks).
CENTRIFUGO_VERSION ?= v6.9.1
CENTRIFUGO ?= $(CURDIR)/bin/tools/centrifugo-$(CENTRIFUGO_VERSION)
bench:
	@test -x $(CENTRIFUGO) || { echo "building centrifugo $(CENTRIFUGO_VERSION) into $(CENTRIFUGO)"; mkdir -p $(CURDIR)/bin/tools; \
	  tmp=$$(mktemp -d) && GOBIN=$$tmp $(GO) install github.com/centrifugal/centrifugo/v6@$(CENTRIFUGO_VERSION) && mv $$tmp/centrifugo $(CENTRIFUGO) && rmdir $$tmp; }
	mkdir -p bin
	$(GO) run ./cmd/advicechat-bench -centrifugo $(CENTRIFUGO) -out bin/bench.md -svg bin/bench.svg $(BENCH_FLAGS)

## screenshots: run the browser tests and save every page state they check, narrow and wide, to docs/screenshots (needs Chromium)
screenshots:
	mkdir -p docs/screenshots
	ADVICECHAT_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -timeout 15m -run '^TestBrowser' ./cmd/advicechat

## deploy-check: lint and render the Helm chart and decode every manifest strictly, check and unit-test the alert rules, and check that the dashboard and rules use only metrics the service exports (needs promtool: Debian's prometheus package)
HELM_VERSION ?= v3.21.4
# helm's own release build sets its version and default Kubernetes version
# (from its client-go, v0.36) the same way.
HELM_LDFLAGS := -X helm.sh/helm/v3/internal/version.version=$(HELM_VERSION) -X helm.sh/helm/v3/internal/version.gitTreeState=clean \
	$(foreach p,pkg/lint/rules pkg/chartutil,-X helm.sh/helm/v3/$(p).k8sVersionMajor=1 -X helm.sh/helm/v3/$(p).k8sVersionMinor=36)
HELM    ?= $(CURDIR)/bin/tools/helm-$(HELM_VERSION)
PROMTOOL ?= promtool
CHART   := deploy/helm/advicechat
deploy-check:
	@command -v $(PROMTOOL) >/dev/null || { echo "deploy-check needs promtool: apt-get install prometheus"; exit 1; }
	@test -x $(HELM) || { echo "building helm $(HELM_VERSION) into $(HELM)"; mkdir -p $(CURDIR)/bin/tools; \
	  tmp=$$(mktemp -d) && GOBIN=$$tmp $(GO) install -ldflags '$(HELM_LDFLAGS)' helm.sh/helm/v3/cmd/helm@$(HELM_VERSION) && mv $$tmp/helm $(HELM) && rmdir $$tmp; }
	$(HELM) lint --strict $(CHART)
	$(HELM) lint --strict $(CHART) -f $(CHART)/ci/full-values.yaml
	$(HELM) template advicechat $(CHART) >/dev/null
	$(PROMTOOL) check rules deploy/prometheus/rules.yaml
	$(PROMTOOL) test rules deploy/prometheus/rules_test.yaml
	$(PROMTOOL) check config deploy/prometheus/prometheus.yml
	@if command -v caddy >/dev/null; then out=$$(ADVICECHAT_DOMAIN=chat.example.org ACME_EMAIL=ops@example.org caddy adapt --config deploy/Caddyfile --validate 2>&1 >/dev/null) || { echo "$$out"; exit 1; }; echo "deploy/Caddyfile is valid"; \
	  else echo "caddy not installed: deploy/Caddyfile not checked"; fi
	cd deploy && HELM=$(HELM) PROMTOOL=$(PROMTOOL) $(GO) test -count=1 -timeout 10m ./...

## docker: build the container image advicechat:VERSION (and advicechat:latest locally)
docker:
	docker build --build-arg VERSION=$(VERSION) --build-arg REVISION=$(REVISION) -t advicechat:$(VERSION) -t advicechat .

clean:
	rm -rf bin
