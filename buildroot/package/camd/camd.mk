################################################################################
#
# camd
#
################################################################################

# Built from the working tree of the repository that holds this
# BR2_EXTERNAL tree (its buildroot/ directory); CAMD_VERSION only labels
# the build.
CAMD_VERSION = 0.1.0
CAMD_SITE = $(BR2_EXTERNAL_CAMD_PATH)/..
CAMD_SITE_METHOD = local
CAMD_LICENSE = MIT
CAMD_LICENSE_FILES = LICENSE
CAMD_GOMOD = github.com/camd-project/camd
CAMD_BUILD_TARGETS = cmd/camd
CAMD_LDFLAGS = -s -w -X main.version=$(CAMD_VERSION)
# camd serves HTTP/1.1 only: without net/http's HTTP/2 the binary is
# ~0.5 MB smaller (see TAGS in the Makefile).
CAMD_TAGS = nethttpomithttp2
CAMD_OVERRIDE_SRCDIR_RSYNC_EXCLUSIONS = \
	--exclude /dist --exclude /vendor --exclude /output

# Without the software encoder camd is pure Go: no cgo, a static binary.
ifeq ($(BR2_PACKAGE_CAMD_OPENH264),y)
CAMD_GO_ENV = CGO_ENABLED=1
else
CAMD_GO_ENV = CGO_ENABLED=0
endif

# Buildroot builds Go packages offline from a vendor/ directory that it
# makes when it downloads their source. A local source is copied, not
# downloaded, so vendor the modules here; this step reaches the Go module
# proxy (CAMD_GOPROXY).
CAMD_GOPROXY ?= https://proxy.golang.org,direct
define CAMD_GO_VENDOR
	cd $(@D) && $(HOST_GO_COMMON_ENV) GOFLAGS=-mod=mod \
		GOPROXY="$(CAMD_GOPROXY)" $(GO_BIN) mod vendor
endef
CAMD_PRE_BUILD_HOOKS += CAMD_GO_VENDOR

define CAMD_USERS
	camd -1 camd -1 * - - video,dialout camd daemon
endef

define CAMD_INSTALL_CONFIG
	$(INSTALL) -D -m 0644 $(@D)/packaging/camd.toml \
		$(TARGET_DIR)/etc/camd/camd.toml
endef
CAMD_POST_INSTALL_TARGET_HOOKS += CAMD_INSTALL_CONFIG

define CAMD_INSTALL_INIT_SYSV
	$(INSTALL) -D -m 0755 $(CAMD_PKGDIR)/S90camd \
		$(TARGET_DIR)/etc/init.d/S90camd
endef

define CAMD_INSTALL_INIT_SYSTEMD
	$(INSTALL) -D -m 0644 $(@D)/packaging/camd.service \
		$(TARGET_DIR)/usr/lib/systemd/system/camd.service
endef

$(eval $(golang-package))
