# rawproxy: `make run` starts the demo, `make test` runs every spec under coverage.
COVERAGE_FLOOR ?= 85
export COVERAGE_FLOOR

.PHONY: install build run test bench clean

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

install: node_modules/.package-lock.json

build: install
	npx tsc -p tsconfig.json

run: build
	node dist/src/cli.js --demo

test: build
	node spec/run.mjs

bench: build
	bash bench/run.sh

clean:
	rm -rf dist coverage
