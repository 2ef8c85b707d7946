# rawproxy: `make run` starts the demo, `make test` runs every spec under coverage.
COVERAGE_FLOOR ?= 85
export COVERAGE_FLOOR

.PHONY: install build run test bench bench-peers profile screenshots fuzz soak clean

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

install: node_modules/.package-lock.json

build: install
	npx tsc -p tsconfig.json
	node scripts/build-web.mjs

run: build
	node dist/src/cli.js --demo

test: build
	node spec/run.mjs

bench: build
	bash bench/run.sh

# rawproxy beside nginx, HAProxy and Caddy, then its cache beside nginx proxy_cache and Varnish (all
# installed from Debian if missing); bench/results/peers-latest.*
bench-peers: build
	bash bench/run.sh peers

# rawproxy under wrk with --cpu-prof: where the .cpuprofile is, how to open it, and a summary
profile: build
	bash bench/run.sh profile

# The README's pictures of the dashboard and the trace page (Debian's Chromium, headless): docs/img/*.png
screenshots: build
	node scripts/screenshots.mjs

# The fuzz campaign (docs/testing.md): COUNT inputs (default 1,000,000) of seed SEED (random, printed),
# at most CAP seconds; ONLY=request:N or response:N replays one connection of that seed.
fuzz: build
	SEED=$(SEED) COUNT=$(COUNT) CAP=$(CAP) ONLY=$(ONLY) node dist/bench/fuzz/run.js

# The soak (docs/testing.md): DURATION seconds (default 600) of mixed traffic; fails if RSS, heap, open
# fds or event-loop delay grew past 10% after warm-up, or a client got an error it should not have.
soak: build
	DURATION=$(DURATION) node --expose-gc dist/bench/soak/run.js

clean:
	rm -rf dist coverage
