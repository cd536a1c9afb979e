# Escala: `make run` and `make test` do all the set-up on a fresh Debian 12 machine (root).
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
DATA_DIR ?= data
HTTP ?= 127.0.0.1:8080
SMTP ?= 127.0.0.1:2525
# Outbound relay for the desk's mail (e.g. make run SMTP_RELAY=127.0.0.1:25); empty: mail waits in the outbox.
SMTP_RELAY ?=
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 60
WEB_ROOT ?= $(CURDIR)/web/dist
# npm must never fetch a browser (there is no internet; tests use Debian's chromium).
export PUPPETEER_SKIP_DOWNLOAD := 1
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1
export npm_config_fund := false
export npm_config_audit := false

.PHONY: all deps build configure web test run bench clean format fuzz

all: build

deps:
	@scripts/install-deps.sh all

configure: deps
	@if [ ! -f $(BUILD_DIR)/build.ninja ]; then \
	  cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE); fi

build: configure web
	@cmake --build $(BUILD_DIR) -j $(JOBS)

# The web console and the customer portal (web/ -> web/dist). `npm ci` only when node_modules is missing or
# package-lock.json changed since the last install; the Vite build only when a source changed.
WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) web/index.html \
  web/portal.html web/vite.config.ts web/tsconfig.json web/package.json web/scripts/compress.mjs
web: web/dist/index.html

web/node_modules/.escala-lock: web/package-lock.json | deps
	cd web && npm ci --no-audit --no-fund
	@cp web/package-lock.json $@

web/dist/index.html: web/node_modules/.escala-lock $(WEB_SOURCES)
	cd web && npm run build

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 600

run: build
	@scripts/first-login.sh $(BUILD_DIR)/escala $(DATA_DIR)
	exec $(BUILD_DIR)/escala serve --data-dir $(DATA_DIR) --http $(HTTP) --smtp $(SMTP) --web-root $(WEB_ROOT) $(if $(SMTP_RELAY),--smtp-relay $(SMTP_RELAY))

bench: build
	@bench/run.sh $(BUILD_DIR)

fuzz: deps
	@fuzz/run.sh $(FUZZ_SECONDS)

format:
	@find src tests bench -name '*.cpp' -o -name '*.hpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR) web/dist
