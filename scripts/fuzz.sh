#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS] [TARGET...]
# Builds the libFuzzer harnesses of tests/fuzz with clang, AddressSanitizer and UndefinedBehaviorSanitizer in
# build-fuzz/, then runs each TARGET (default: all) for SECONDS (default 900) on one core, one after another.
# Each grows its own corpus in build-fuzz/corpus/TARGET (seeded from tests/fuzz/corpus/TARGET); an input that
# crashes is left in build-fuzz/artifacts/TARGET/ and belongs, once fixed, in tests/fuzz/regressions/TARGET/.
# Prints one summary line per target: executions, coverage, corpus size, crashes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds="${1:-900}"
shift || true
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=(image_format config report_reader catalogue case_writers)

need=()
command -v clang++ >/dev/null || need+=(clang)
dpkg-query -W -f='${db:Status-Status}' libclang-rt-14-dev 2>/dev/null | grep -q installed || need+=(libclang-rt-14-dev)
if [[ ${#need[@]} -gt 0 ]]; then
  sudo=(); [[ $(id -u) -ne 0 ]] && sudo=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
scripts/setup.sh packages  # Debian packages and models, as for every build

if [[ ! -f build-fuzz/build.ninja ]]; then
  cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
    -DCLUETRACE_SANITIZE=address,undefined -DCLUETRACE_FUZZ=ON -DCLUETRACE_BUILD_TESTS=ON >/dev/null
fi
ninja -C build-fuzz "${targets[@]/#/fuzz_}" >build-fuzz/ninja.log 2>&1 || { tail -n 40 build-fuzz/ninja.log; exit 1; }

export ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1" UBSAN_OPTIONS="print_stacktrace=1" OMP_THREAD_LIMIT=1
for t in "${targets[@]}"; do
  mkdir -p "build-fuzz/corpus/$t" "build-fuzz/artifacts/$t"
  cp -n tests/fuzz/corpus/"$t"/* "build-fuzz/corpus/$t/" 2>/dev/null || true
  log="build-fuzz/fuzz-$t.log"
  marker="build-fuzz/artifacts/$t/.started"
  touch "$marker"
  set +e
  build-fuzz/tests/fuzz/fuzz_"$t" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="build-fuzz/artifacts/$t/" "build-fuzz/corpus/$t" tests/fuzz/regressions/"$t" >"$log" 2>&1
  rc=$?
  set -e
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1 || echo "?")
  corpus=$(ls "build-fuzz/corpus/$t" | wc -l)
  crashes=$(find "build-fuzz/artifacts/$t" -type f -newer "$marker" ! -name .started | wc -l)  # found in this run
  echo "fuzz_$t: ${seconds} s, ${execs} executions, ${cov}, corpus ${corpus} inputs, crashes ${crashes}, exit ${rc}"
done
