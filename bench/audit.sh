#!/usr/bin/env bash
# bench/audit.sh -- benchmarks of the transfer log (audit/): append rate
# (one transaction per record, as the gateway appends, and 1000 per
# transaction), `audit verify` over a 1,000,000-record log, and proof
# generation at that size. Run by hand, never from `make test`.
#
#   bench/audit.sh                       # full: 1e6 records, 1000 proofs
#   KP_BENCH_RECORDS=100000 bench/audit.sh   # smaller log
#
# The measuring is the doctest case "bench: audit log append, verify and
# proofs" in tests/audit/log_bench_test.cpp (skipped by default; this runs it
# with --no-skip). It needs a Release build of unit_tests: $KP_AUDIT_BUILD
# (default build-audit) is configured and built if it has none. The log is
# written under $TMPDIR (default /tmp): every single-record append is
# fsynced, so that disk is part of the result. Needs ~1 GB free there.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
build=${KP_AUDIT_BUILD:-$repo/build-audit}

if [[ ! -x $build/unit_tests ]]; then
  # GCC 12 at -O3 reports false positives (-Wrestrict, -Wstringop-overflow)
  # in some test files; keep them warnings in this build.
  cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release \
    "-DCMAKE_CXX_FLAGS=-Wno-error=restrict -Wno-error=stringop-overflow -Wno-error=array-bounds -Wno-error=stringop-overread -Wno-error=maybe-uninitialized" >/dev/null
  make -C "$build" -j"$(nproc)" unit_tests >/dev/null
fi

echo "machine: $(nproc) CPUs, $(uname -r), temp dir on: $(df -P "${TMPDIR:-/tmp}" | awk 'NR==2 {print $1}')"
exec "$build/unit_tests" -tc='bench:*' --no-skip
