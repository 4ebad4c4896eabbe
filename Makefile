# camd build, test and release targets. `make help` lists them.

GO       ?= go
export PATH := $(PATH):/usr/local/go/bin
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
# camd serves HTTP/1.1 only; leaving net/http's HTTP/2 out saves ~0.5 MB,
# which pays for the HTTPS server (tls.cert, tls.key) within the 12 MB goal.
TAGS     := nethttpomithttp2
DIST     := dist
# Static cross builds: the pure-Go path (no software encoder; hardware
# encoder or passthrough sources). linux/arm GOARM=6 is the Pi Zero W.
CROSS    := linux/amd64 linux/arm64 linux/arm/7 linux/arm/6

.PHONY: help build run test e2e unit cross bench bench-fanout vet fmt clean vmtest lantest nettest deb image pkgtest shellcheck fuzz

help:
	@echo "make run     build and run camd (test pattern when there is no camera)"
	@echo "make test    vet, format check, unit and end-to-end tests (what CI runs)"
	@echo "make unit    unit tests only"
	@echo "make e2e     end-to-end tests in headless Chromium"
	@echo "make fuzz    every Go fuzz target for FUZZTIME each (default 60s); crashers stay in testdata/fuzz"
	@echo "make lantest mDNS, .local candidates and ICE restarts across two network namespaces (root)"
	@echo "make nettest bitrate adaptation on shaped links (tbf) with Chromium and a Go viewer; CSV and PNG (root)"
	@echo "make vmtest  camd against real V4L2 drivers (vivid, vicodec, v4l2loopback) in qemu, amd64 + arm64"
	@echo "make bench   latency, first-frame, CPU and memory benchmarks"
	@echo "make bench-fanout  CPU, memory, loss and first keyframe per viewer for 1..300 viewers (ARGS=-window 20s ...)"
	@echo "make cross   static binaries for arm64, armv7, armv6 and amd64 in $(DIST)/"
	@echo "make build   camd for this machine (with the software encoder) in $(DIST)/"
	@echo "make deb     Debian packages for amd64, arm64 and armhf in $(DIST)/"
	@echo "make image   a Raspberry Pi SD card image with Buildroot (BOARD=rpi0w|rpi02w|rpi3|rpi4; hours, needs internet)"
	@echo "make pkgtest the Buildroot tree check, shellcheck, the init script and the .deb in a debootstrap chroot (root)"

build:
	$(GO) build -trimpath -tags '$(TAGS)' -ldflags '$(LDFLAGS)' -o $(DIST)/camd ./cmd/camd

run: build
	./$(DIST)/camd $(ARGS)

vet:
	$(GO) vet ./...

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

unit:
	$(GO) test -count=1 -timeout 10m $$($(GO) list ./... | grep -v -e /scripts/e2e -e /scripts/vmtest -e /scripts/lantest -e /scripts/pkgtest -e /scripts/nettest)

BOARD ?= rpi4
deb:
	packaging/build-deb.sh $(VERSION)

image:
	buildroot/build-image.sh $(BOARD)

pkgtest:
	$(GO) test -count=1 -timeout 20m -v ./scripts/pkgtest/

shellcheck:
	$(GO) test -count=1 -run TestShellcheck ./scripts/pkgtest/

lantest:
	$(GO) test -count=1 -timeout 10m -v ./scripts/lantest/

nettest:
	$(GO) test -count=1 -timeout 15m -v ./scripts/nettest/

vmtest:
	$(GO) test -count=1 -timeout 30m -v -run TestVM ./scripts/vmtest/

e2e:
	$(GO) test -count=1 -timeout 10m -v ./scripts/e2e/

# Every Fuzz function the packages list, one after the other. make test
# runs them with a short budget (FUZZTIME_TEST) to catch a crasher early.
FUZZTIME      ?= 60s
FUZZTIME_TEST ?= 2s
fuzz:
	FUZZTIME=$(FUZZTIME) scripts/fuzz

# The harnesses (browsers, network namespaces, VMs) run one package at a
# time, so their timings do not fight each other on a small machine.
test: vet fmt
	$(GO) test -count=1 -timeout 20m $$($(GO) list ./... | grep -v /scripts/)
	FUZZTIME=$(FUZZTIME_TEST) scripts/fuzz
	$(GO) test -count=1 -p 1 -timeout 40m ./scripts/...

bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./capture/... ./encode/... ./stream/...
	$(GO) run ./scripts/bench

# Per-viewer cost with N = 1..300 synthetic viewers (cmd/camd-load); writes
# dist/bench-fanout/fanout.{csv,md}. About half an hour with the defaults.
bench-fanout:
	$(GO) run ./scripts/benchfanout $(ARGS)

cross:
	@mkdir -p $(DIST)
	@for t in $(CROSS); do \
	  os=$${t%%/*}; rest=$${t#*/}; arch=$${rest%%/*}; arm=""; name=camd-$$os-$$arch; \
	  if [ "$$arch" = arm ]; then arm=$${rest#*/}; name=camd-$$os-armv$$arm; fi; \
	  CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch GOARM=$$arm $(GO) build -trimpath -tags '$(TAGS)' -ldflags '$(LDFLAGS)' -o $(DIST)/$$name ./cmd/camd || exit 1; \
	  awk -v n=$(DIST)/$$name -v s=$$(stat -c %s $(DIST)/$$name) 'BEGIN { printf "%-28s %6.1f MB\n", n, s / 1048576 }'; \
	done

clean:
	rm -rf $(DIST)
