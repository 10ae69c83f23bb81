# Foghorn: `make run` to try it, `make test` to check everything. See README.md.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: run test deps deps-test ui release bench check-core-is-gui-free lint build-tests unit e2e bindings-committed

## Build and start the tray app (installs what is missing first).
run: deps ui
	$(CARGO) run -p foghorn-app --bin foghorn

## Everything CI checks: formatting, lints, unit tests, the window's checks, end-to-end tests.
## The Rust tests run as one nextest run: unit and end-to-end tests side by side, two at a
## time, except those that start a desktop, which take turns (.config/nextest.toml).
test: deps-test ui lint build-tests
	npm --prefix ui test --silent
	$(TEST_ENV) $(CARGO) test --workspace --locked --doc
	$(NEXTEST)
	@$(MAKE) --no-print-directory bindings-committed

deps:
	scripts/deps.sh run

deps-test:
	scripts/deps.sh test

## The window's frontend, built into ui/dist (embedded in the binary at compile time).
ui:
	npm --prefix ui run build --silent

# One compilation serves clippy, the unit tests, the end-to-end tests and the app they start:
# clippy-driver compiles the workspace's own crates (denying every warning) into the very
# artifacts the tests run, and one `--workspace --all-targets` selection gives every
# dependency one feature set, so tauri and the rest compile once. Every cargo command of
# `make test` below runs with the same environment, or cargo would rebuild.
CLIPPY_DRIVER = $(shell $(CARGO) clippy --version >/dev/null 2>&1 && echo "$$(rustc --print sysroot)/bin/clippy-driver")
TEST_ENV = RUSTC_WORKSPACE_WRAPPER="$(CLIPPY_DRIVER)" CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
NEXTEST = $(TEST_ENV) $(CARGO) nextest run --workspace --locked --no-fail-fast

lint: check-core-is-gui-free
	$(CARGO) fmt --all -- --check
	npm --prefix ui run check --silent
	npm --prefix ui run lint --silent

## Compiles (and lints with clippy) everything the tests need, the `foghorn` binary included.
build-tests:
	@test -x "$(CLIPPY_DRIVER)" || { echo "clippy is missing: rustup component add clippy"; exit 1; }
	$(TEST_ENV) $(CARGO) build --workspace --all-targets --locked

## The core must build without any GUI crate.
check-core-is-gui-free:
	@if $(CARGO) tree -p foghorn-core -e normal --prefix none --locked | grep -Eq '^(tauri|tao|wry|gtk|webkit2gtk)[ -]'; then \
	  echo "foghorn-core depends on a GUI crate:"; $(CARGO) tree -p foghorn-core -e normal -i tauri; exit 1; fi

## Only the unit and core integration tests, and the window's own tests.
unit: build-tests
	$(NEXTEST) -E 'not package(foghorn-e2e)'
	@$(MAKE) --no-print-directory bindings-committed
	npm --prefix ui test --silent

## Only the end-to-end tests: the real binary and window under Xvfb with a private D-Bus and
## dunst, real Alertmanager, Prism and local receivers.
e2e: build-tests
	$(NEXTEST) -E 'package(foghorn-e2e)'

## The TypeScript types that `cargo test` generates (ts-rs) must be committed as generated.
bindings-committed:
	@git diff --exit-code --stat -- ui/src/lib/bindings || { echo "ui/src/lib/bindings is out of date: commit the regenerated files"; exit 1; }

release: deps ui
	$(CARGO) build -p foghorn-app --release --locked

bench: release
	scripts/bench.sh
