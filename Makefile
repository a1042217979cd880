# advicechat: the two commands a new machine needs are `make run` and
# `make test`; the rest is for developers and operators.
GO      ?= go
BIN     ?= bin/advicechat
FUZZTIME ?= 60s

.PHONY: run test lint build fuzz docker clean load soak screenshots

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

## build: a static binary in bin/
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags="-s -w" -o $(BIN) ./cmd/advicechat

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

## screenshots: run the browser tests and save every page state they check, narrow and wide, to docs/screenshots (needs Chromium)
screenshots:
	mkdir -p docs/screenshots
	ADVICECHAT_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -timeout 15m -run '^TestBrowser' ./cmd/advicechat

## docker: build the container image
docker:
	docker build -t advicechat .

clean:
	rm -rf bin
