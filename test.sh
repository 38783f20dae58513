#!/usr/bin/env bash
# ./test.sh   set up (packages, build) and run the whole test suite with ctest
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
scripts/setup.sh all
ctest --test-dir build --output-on-failure -j "$(nproc)" --timeout 600 "$@"
