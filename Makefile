# istrigger build. `make` builds build/istrigger; `make test` installs what is missing (Debian
# packages), builds, and runs every test, once normally and once under ASan+UBSan.
#
# Layout the build relies on (wildcards, so adding a file needs no Makefile edit):
#   src/**/*.c            -> build/libistrigger.a (+ src/main.c -> build/istrigger)
#   test/unit/test_*.c    -> build/test/test_* (cmocka), one binary per module
#   test/fuzz/fuzz_*.c    -> build-fuzz/fuzz_* (libFuzzer), corpus in test/fuzz/corpus/NAME/

VERSION   := $(shell cat VERSION)
BUILD     ?= build
SAN       ?=
CC        ?= cc
PYTHON    := /usr/bin/python3
PKGS      := libcurl jansson yaml-0.1 openssl libmicrohttpd
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS_WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
               -Wmissing-prototypes -Wno-missing-field-initializers
CFLAGS_BASE := -std=gnu11 -g -Iinclude -D_GNU_SOURCE -DISTRIGGER_VERSION=\"$(VERSION)\" \
               $(CFLAGS_WARN) $(PKG_CFLAGS)
ifeq ($(SAN),1)
CFLAGS_OPT  := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
LDFLAGS_SAN := -fsanitize=address,undefined
else
CFLAGS_OPT  := -O2
LDFLAGS_SAN :=
endif
CFLAGS  ?=
ALL_CFLAGS := $(CFLAGS_BASE) $(CFLAGS_OPT) $(CFLAGS)
LDLIBS  := $(PKG_LIBS) -lpthread -lm

LIB_SRCS  := $(shell find src -name '*.c' ! -path src/main.c | sort)
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS := $(sort $(wildcard test/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:test/unit/%.c=$(BUILD)/test/%)
DEPS      := $(LIB_OBJS:.o=.d) $(BUILD)/src/main.d

.PHONY: demo all unit test test-c test-py test-okdsim test-integration bench fuzz clean \
        install-deps deps format format-check lint bundle image docs

all: $(BUILD)/istrigger $(BUILD)/kubetool

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libistrigger.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/istrigger: $(BUILD)/src/main.o $(BUILD)/libistrigger.a
	$(CC) $(LDFLAGS_SAN) -o $@ $^ $(LDLIBS)

# The Kubernetes client's test driver (integration tests, benchmark); not installed.
$(BUILD)/kubetool: test/kubeclient/kubetool.c $(BUILD)/libistrigger.a
	$(CC) $(ALL_CFLAGS) -MMD -MP -o $@ $< $(BUILD)/libistrigger.a $(LDFLAGS_SAN) $(LDLIBS)

$(BUILD)/test/%: test/unit/%.c $(BUILD)/libistrigger.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itest/unit -MMD -MP -o $@ $< $(BUILD)/libistrigger.a \
	    $(LDFLAGS_SAN) $(LDLIBS) -lcmocka

-include $(DEPS) $(UNIT_BINS:=.d) $(BUILD)/kubetool.d

# Unit tests: every cmocka binary; scripts/run-unit.sh sums the results.
unit: $(UNIT_BINS)
	@scripts/run-unit.sh $(BUILD) $(UNIT_BINS)

# The main job: the operator against okdsim and a local registry, narrated (scripts/demo.py).
demo: deps
	@echo "make demo: building istrigger (compiler output only on errors)"
	@$(MAKE) -s --no-print-directory -j2 all
	@$(PYTHON) scripts/demo.py

install-deps deps:
	@scripts/install-deps.sh

# The whole suite. The integration tests run the ASan+UBSan binary (ISTRIGGER_BIN), so the
# sanitizers watch the operator while it talks to real registries and okdsim.
test: deps
	$(MAKE) -j2 all
	$(MAKE) unit
	$(MAKE) -j2 BUILD=build-asan SAN=1 all $(UNIT_SRCS:test/unit/%.c=build-asan/test/%)
	$(MAKE) BUILD=build-asan SAN=1 unit
	$(MAKE) test-py ISTRIGGER_BIN=$(CURDIR)/build-asan/istrigger

test-c: all unit

# pytest suites: okdsim's own, then the operator's integration and end-to-end tests.
PYTEST_DIRS := $(wildcard test/okdsim/tests test/integration test/e2e test/packaging test/demo test/docs)
ISTRIGGER_BIN ?= $(CURDIR)/build/istrigger
# One pytest process per directory: several directories have a conftest.py imported as the
# module "conftest" by their tests, and one process would give them all the first one.
test-py:
	@status=0; for d in $(PYTEST_DIRS); do \
	    echo "pytest $$d"; \
	    ISTRIGGER_BIN=$(ISTRIGGER_BIN) ISTRIGGER_BIN_RELEASE=$(CURDIR)/build/istrigger \
	    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	    $(PYTHON) -m pytest -q -p no:cacheprovider $$d || status=1; \
	done; exit $$status

test-okdsim:
	$(PYTHON) -m pytest -q -p no:cacheprovider test/okdsim/tests

test-integration: all
	ISTRIGGER_BIN=$(ISTRIGGER_BIN) $(PYTHON) -m pytest -q -p no:cacheprovider test/integration

bench: deps all
	@scripts/run-bench.sh

FUZZ_SECONDS ?= 60
fuzz: deps
	@scripts/run-fuzz.sh $(FUZZ_SECONDS)

# docs/crd-reference.md from crds/ (test/docs/test_docs.py fails while it is stale).
docs:
	$(PYTHON) scripts/gen-crd-docs.py

format:
	clang-format -i $$(find src include test/unit test/fuzz -name '*.[ch]')

format-check:
	clang-format --dry-run -Werror $$(find src include test/unit test/fuzz -name '*.[ch]')

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	    --inline-suppr --library=.cppcheck/jansson.cfg -Iinclude \
	    --suppress=missingIncludeSystem src

# Packaging (issue 8). `make bundle` regenerates olm-bundle/ (CSV, bundle copies of crds/,
# annotations, file-based catalog) from crds/, manifests/ and VERSION; `make image` builds the
# operator image with podman or buildah, where one of them is installed (not on this machine by
# default: `apt-get install podman`), and needs the base images reachable.
IMAGE_REPO ?= quay.io/istrigger/istrigger
IMAGE      ?= $(IMAGE_REPO):v$(VERSION)
# e.g. IMAGE_BUILD_FLAGS="--isolation chroot --network host" where the container runtime cannot
# create cgroups (as in some sandboxes)
IMAGE_BUILD_FLAGS ?=
bundle:
	IMAGE_REPO=$(IMAGE_REPO) $(PYTHON) scripts/gen-bundle.py

image:
	@if command -v podman >/dev/null 2>&1; then podman build $(IMAGE_BUILD_FLAGS) -f Containerfile -t $(IMAGE) .; \
	elif command -v buildah >/dev/null 2>&1; then buildah bud $(IMAGE_BUILD_FLAGS) -f Containerfile -t $(IMAGE) .; \
	else echo "make image: needs podman or buildah (apt-get install podman)" >&2; exit 1; fi

clean:
	rm -rf build build-asan build-fuzz
