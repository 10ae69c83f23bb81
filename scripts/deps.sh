#!/usr/bin/env bash
# Installs what Foghorn needs and is missing. `deps.sh run`: to build and run the app;
# `deps.sh test`: also what the tests drive (Xvfb, a notification daemon, WebDriver, …);
# `deps.sh bench`: what the tests drive plus the peer `make bench` measures against.
# On Debian/Ubuntu it uses apt when run as root or with sudo; elsewhere it says what to install.
set -euo pipefail
mode=${1:-run}
here=$(cd "$(dirname "$0")/.." && pwd)

build_pkgs=(build-essential pkg-config curl file libssl-dev libwebkit2gtk-4.1-dev
  libayatana-appindicator3-dev librsvg2-dev libxdo-dev libasound2-dev mold)
test_pkgs=(xvfb dbus-x11 dunst libnotify-bin webkit2gtk-driver imagemagick pulseaudio
  pulseaudio-utils libasound2-plugins prometheus-alertmanager python3-aiosmtpd python3-dkim openssl x11-utils xdotool
  gnome-keyring)
bench_pkgs=(prometheus-blackbox-exporter)

say() { printf 'deps: %s\n' "$*" >&2; }

case "$(uname -s)" in
  Darwin)
    say "macOS: install Xcode command line tools (xcode-select --install), Rust (rustup) and Node.js 20.19+; nothing else is needed."
    exit 0 ;;
  MINGW*|MSYS*|CYGWIN*)
    say "Windows: install Rust (rustup, MSVC toolchain), Node.js 20.19+ and the WebView2 runtime (preinstalled on Windows 11)."
    exit 0 ;;
esac

pkgs=("${build_pkgs[@]}")
case "$mode" in
  test) pkgs+=("${test_pkgs[@]}") ;;
  bench) pkgs+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
esac

if command -v dpkg-query >/dev/null 2>&1; then
  missing=()
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then sudo=(); elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo=(sudo); else
      say "missing system packages: ${missing[*]}"
      say "install them with: sudo apt-get install -y ${missing[*]}"
      exit 1
    fi
    say "installing ${missing[*]}"
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
else
  say "not a Debian/Ubuntu system: install the equivalents of ${pkgs[*]}"
fi

command -v cargo >/dev/null || { say "Rust is missing: install it with rustup (https://rustup.rs)"; exit 1; }
if ! command -v node >/dev/null || ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'; then
  say "Node.js 20.19 or newer is needed for the window's build (found: $(node --version 2>/dev/null || echo none))"
  exit 1
fi

# npm packages: reinstall only when the lock file changed since the last install.
if [ ! -f "$here/ui/node_modules/.package-lock.json" ] || [ "$here/ui/package-lock.json" -nt "$here/ui/node_modules/.package-lock.json" ]; then
  say "npm ci (ui)"
  (cd "$here/ui" && npm ci --no-audit --no-fund --loglevel=error)
fi

# Prism, which checks every vendor request the contract tests make against the vendor's spec.
prism="$here/tests/prism"
if [ "$mode" != run ] && { [ ! -f "$prism/node_modules/.package-lock.json" ] || [ "$prism/package-lock.json" -nt "$prism/node_modules/.package-lock.json" ]; }; then
  say "npm ci (tests/prism)"
  (cd "$prism" && npm ci --no-audit --no-fund --loglevel=error)
fi

# The test runner (one process per test, end-to-end tests one at a time) and clippy, which
# `make test` runs as part of its one build.
if [ "$mode" != run ] && ! cargo nextest --version >/dev/null 2>&1; then
  say "cargo install cargo-nextest (the test runner)"
  cargo install cargo-nextest --locked --quiet
fi
if [ "$mode" != run ] && ! cargo clippy --version >/dev/null 2>&1; then
  if command -v rustup >/dev/null; then rustup component add clippy rustfmt; else say "clippy is missing"; exit 1; fi
fi

if [ "$mode" = test ] && ! command -v tauri-driver >/dev/null; then
  say "cargo install tauri-driver (WebDriver for the window)"
  cargo install tauri-driver --locked --quiet
fi
