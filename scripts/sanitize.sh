#!/usr/bin/env bash
# scripts/sanitize.sh [CTEST ARGS...]
# The whole test suite under AddressSanitizer and UndefinedBehaviorSanitizer: builds everything with clang in
# build-asan/ (every target instrumented, -fno-sanitize-recover: the first report fails the test) and runs ctest
# there. The CLI the end-to-end tests start is the instrumented one, so its worker processes are checked too.
# Third-party libraries are not instrumented; LeakSanitizer is off (their caches live as long as the process).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
need=()
command -v clang++ >/dev/null || need+=(clang)
dpkg-query -W -f='${db:Status-Status}' libclang-rt-14-dev 2>/dev/null | grep -q installed || need+=(libclang-rt-14-dev)
if [[ ${#need[@]} -gt 0 ]]; then
  sudo=(); [[ $(id -u) -ne 0 ]] && sudo=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
scripts/setup.sh packages
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DCLUETRACE_SANITIZE=address,undefined -DCLUETRACE_BUILD_TESTS=ON -DCLUETRACE_TEST_TIMEOUT=1800 >/dev/null
ninja -C build-asan -j "${SANITIZE_JOBS:-$(nproc)}" >build-asan/ninja.log 2>&1 || { grep -v '^\[' build-asan/ninja.log | tail -n 40; exit 1; }
# The logo catalogue's index, built by this build's CLI (same format as the normal build's).
build-asan/cluetrace catalogue build models/logos/catalogue.yaml >/dev/null
# Every report also goes to a file: a worker process whose memory error the supervisor turns into a `failed`
# image (exit 0) must still fail this run. The tests' own injected crashes (SIGSEGV, SIGFPE) are left to the
# program's handlers (handle_segv=0 ...), as in a normal build.
logs="$PWD/build-asan/sanitizer-logs"
rm -rf "$logs"
mkdir -p "$logs"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:handle_segv=0:handle_sigbus=0:handle_sigfpe=0:log_path=$logs/asan"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan"
status=0
ctest --test-dir build-asan --output-on-failure -j "$(nproc)" --timeout 1800 "$@" || status=$?
if compgen -G "$logs/*" >/dev/null; then
  echo "sanitize: reports from the sanitizers (also from worker processes):" >&2
  head -n 60 "$logs"/* >&2
  status=1
fi
exit "$status"
