# nlmon — see README.md. Everything installs into the tree (node_modules) or from Debian's packages.
BUN      := node_modules/.bin/bun
ENTRY    := src/cli/main.ts
WORKERS  := src/backend/worker.ts
# bytecode: the binary starts without parsing its 0.8 MB bundle (--version 42 -> 15 ms; a compiled
# hello world takes 9); ESM because the entry point awaits at top level. scripts/release.sh uses the same.
BUN_BUILD_FLAGS := --minify --bytecode --format=esm --sourcemap=none
SOURCES  := $(shell find src config -type f 2>/dev/null) package.json
# Debian packages the tests drive: the real tools users compare nlmon with, and the kernel's YNL specs (linux-doc)
TEST_DEBS := iproute2 jq curl gcc libc6-dev binutils libnl-3-200 libnl-genl-3-200 libnl-3-dev rsyslog prometheus tshark xz-utils qemu-user-static systemd gdb linux-doc-6.12 conntrack nftables util-linux python3 ethtool
export DEBIAN_FRONTEND := noninteractive

.PHONY: all build run test deps debs release footprint bench clean typecheck test-vm

all: build

node_modules/.installed: package.json $(wildcard package-lock.json)
	npm install --no-audit --no-fund --loglevel=error
	@touch $@

deps: node_modules/.installed

# install only what is missing, so repeated runs cost nothing
debs:
	@missing=""; for p in $(TEST_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; apt-get update -qq && apt-get install -y -qq $$missing >/dev/null; fi

dist/nlmon: node_modules/.installed $(SOURCES)
	@mkdir -p dist
	$(BUN) build --compile $(BUN_BUILD_FLAGS) --define 'NLMON_KOFFI_ADDON="linux_x64"' \
		$(ENTRY) $(WORKERS) --outfile dist/nlmon

build: dist/nlmon

# the monitor on the embedded default config, events to stdout
run: build
	@dpkg -s libnl-3-200 libnl-genl-3-200 libnl-3-dev >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq libnl-3-200 libnl-genl-3-200 >/dev/null; }
	dist/nlmon

typecheck: deps
	node_modules/.bin/tsc --noEmit -p .

test: deps debs build
	bash scripts/test.sh

# nl80211 end to end: Debian's kernel under qemu with mac80211_hwsim, nlmon beside `iw event` (scripts/vm/)
test-vm: build
	bash scripts/vm/test.sh

bench: build
	dist/nlmon --benchmark --compare

release: build
	bash scripts/release.sh

footprint: release
	bash scripts/footprint

clean:
	rm -rf dist
