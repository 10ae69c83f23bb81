# Foghorn: `make run` to try it, `make test` to check everything. See README.md.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: run test deps deps-test ui release bench check-core-is-gui-free lint unit e2e

## Build and start the tray app (installs what is missing first).
run: deps ui
	$(CARGO) run -p foghorn-app --bin foghorn

## Everything CI checks: formatting, lints, unit tests, the window's checks, end-to-end tests.
test: deps-test ui lint unit e2e

deps:
	scripts/deps.sh run

deps-test:
	scripts/deps.sh test

## The window's frontend, built into ui/dist (embedded in the binary at compile time).
ui:
	npm --prefix ui run build --silent

lint: check-core-is-gui-free
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	npm --prefix ui run check --silent
	npm --prefix ui run lint --silent

## The core must build without any GUI crate.
check-core-is-gui-free:
	@if $(CARGO) tree -p foghorn-core -e normal --prefix none --locked | grep -Eq '^(tauri|tao|wry|gtk|webkit2gtk)[ -]'; then \
	  echo "foghorn-core depends on a GUI crate:"; $(CARGO) tree -p foghorn-core -e normal -i tauri; exit 1; fi

unit:
	$(CARGO) test --workspace --exclude foghorn-e2e --locked
	@git diff --exit-code --stat -- ui/src/lib/bindings || { echo "ui/src/lib/bindings is out of date: commit the regenerated files"; exit 1; }
	npm --prefix ui test --silent

## Drives the real binary and window under Xvfb with a private D-Bus and dunst.
e2e:
	$(CARGO) build -p foghorn-app --bin foghorn --locked
	$(CARGO) test -p foghorn-e2e --locked -- --test-threads=1

release: deps ui
	$(CARGO) build -p foghorn-app --release --locked

bench: release
	scripts/bench.sh
