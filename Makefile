# camd build, test and release targets. `make help` lists them.

GO       ?= go
export PATH := $(PATH):/usr/local/go/bin
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
DIST     := dist
# Static cross builds: the pure-Go path (no software encoder; hardware
# encoder or passthrough sources). linux/arm GOARM=6 is the Pi Zero W.
CROSS    := linux/amd64 linux/arm64 linux/arm/7 linux/arm/6

.PHONY: help build run test e2e unit cross bench vet fmt clean

help:
	@echo "make run     build and run camd (test pattern when there is no camera)"
	@echo "make test    vet, format check, unit and end-to-end tests (what CI runs)"
	@echo "make unit    unit tests only"
	@echo "make e2e     end-to-end tests in headless Chromium"
	@echo "make bench   latency, first-frame, CPU and memory benchmarks"
	@echo "make cross   static binaries for arm64, armv7, armv6 and amd64 in $(DIST)/"
	@echo "make build   camd for this machine (with the software encoder) in $(DIST)/"

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(DIST)/camd ./cmd/camd

run: build
	./$(DIST)/camd $(ARGS)

vet:
	$(GO) vet ./...

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

unit:
	$(GO) test -count=1 -timeout 10m $$($(GO) list ./... | grep -v /scripts/e2e)

e2e:
	$(GO) test -count=1 -timeout 10m -v ./scripts/e2e/

test: vet fmt
	$(GO) test -count=1 -timeout 20m ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./capture/... ./encode/... ./stream/...
	$(GO) run ./scripts/bench

cross:
	@mkdir -p $(DIST)
	@for t in $(CROSS); do \
	  os=$${t%%/*}; rest=$${t#*/}; arch=$${rest%%/*}; arm=""; name=camd-$$os-$$arch; \
	  if [ "$$arch" = arm ]; then arm=$${rest#*/}; name=camd-$$os-armv$$arm; fi; \
	  CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch GOARM=$$arm $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(DIST)/$$name ./cmd/camd || exit 1; \
	  awk -v n=$(DIST)/$$name -v s=$$(stat -c %s $(DIST)/$$name) 'BEGIN { printf "%-28s %6.1f MB\n", n, s / 1048576 }'; \
	done

clean:
	rm -rf $(DIST)
