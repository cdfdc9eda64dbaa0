// Benchmarks of the transfer log (audit/log.h, store/audit_events.h) on a
// real SQLite store: append rate (one transaction per record, as the gateway
// appends; and 1000 per transaction), the time `audit verify` takes over a
// 1,000,000-record log, and proof generation at that size.
//
// Skipped by default (they take minutes and write ~0.5 GB to the temp
// dir); run them with
//
//   unit_tests -tc='bench:*' --no-skip
//
// in a Release build. Sizes come from the environment so a quick run is
// possible: KP_BENCH_APPENDS (single-transaction appends, default 1000),
// KP_BENCH_RECORDS (log size for verify/proofs, default 1000000),
// KP_BENCH_PROOFS (proofs timed, default 1000). The temp dir is
// std::filesystem::temp_directory_path() (TMPDIR): put it on the disk you
// want measured, as every commit is fsynced (synchronous=FULL).
//
// A second case times verify alone, several runs, on a log kept between
// runs (building 1e6 records takes a minute):
//
//   KP_BENCH_DB=/some/dir/log.db unit_tests -tc='bench: audit verify*' --no-skip
//
// The first run builds the log there (KP_BENCH_RECORDS records, a checkpoint
// every KP_BENCH_CHECKPOINT_EVERY records, default 0 = only one at the end)
// and keeps the log key beside it (log.db.key); later runs only verify,
// KP_BENCH_RUNS times (default 5), and print each time and the median.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "audit/log.h"
#include "store/audit_events.h"
#include "store/transfer_log.h"
#include "tests/support/temp_dir.h"

using namespace kp;

namespace {

using Clock = std::chrono::steady_clock;

// Printed lines go out at once: the run takes minutes and stdout may be a pipe.
void flush() { std::fflush(stdout); }

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// CPU seconds of this process so far: on a shared machine the wall clock
// of a single-threaded step includes time other processes had the CPU.
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

uint64_t env_count(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  return std::strtoull(v, nullptr, 10);
}

// A record shaped like an upload event, different for every i.
store::AuditEvent upload_event(uint64_t i) {
  store::AuditEvent e;
  e.event = "sftp.upload";
  e.outcome = "success";
  std::string actor = "person.";
  actor += std::to_string(i % 997);
  e.actor = actor;
  e.role = "person";
  e.municipality = "GM0363";
  std::string object = "signal-2026-";
  object += std::to_string(i);
  object += ".age";
  e.object = object;
  e.size = static_cast<int64_t>(4096 + i % 65536);
  e.sha256 = to_hex(sha256(object));
  e.source = "127.0.0.1";
  e.channel = "sftp";
  return e;
}

// Appends [from, to) in transactions of `batch` records.
void append_batched(store::Db& db, uint64_t from, uint64_t to, uint64_t batch) {
  for (uint64_t i = from; i < to;) {
    auto tx = store::Transaction::begin(db);
    REQUIRE(tx.ok());
    const uint64_t end = std::min(to, i + batch);
    for (; i < end; ++i) REQUIRE(store::append_audit(db, upload_event(i)).ok());
    REQUIRE(tx->commit().ok());
  }
}

}  // namespace

TEST_CASE("bench: audit log append, verify and proofs" * doctest::skip()) {
  const uint64_t singles = env_count("KP_BENCH_APPENDS", 1000);
  const uint64_t total = std::max<uint64_t>(env_count("KP_BENCH_RECORDS", 1000000), singles + 10000);
  const uint64_t proofs = std::max<uint64_t>(env_count("KP_BENCH_PROOFS", 1000), 1);
  testing::TempDir dir;
  auto opened = store::Db::open(dir.path() + "/bench.db");
  REQUIRE(opened.ok());
  store::Db db = std::move(*opened);
  auto key = note::generate("bench.example/log");
  REQUIRE(key.ok());
  const std::string origin = "bench.example/log";
  std::printf("audit log bench: temp dir %s\n", dir.path().c_str());
  flush();

  // 1. One transaction (and one fsync) per record: what the gateway does.
  auto t0 = Clock::now();
  for (uint64_t i = 0; i < singles; ++i) REQUIRE(store::append_audit(db, upload_event(i)).ok());
  double s = seconds_since(t0);
  std::printf("append, 1 record/transaction:     %8llu records in %7.2f s = %9.0f records/s\n",
              static_cast<unsigned long long>(singles), s, double(singles) / s);
  flush();

  // 2. 1000 records per transaction (the CPU cost of an append without the fsync).
  t0 = Clock::now();
  append_batched(db, singles, singles + 1000 * 10, 1000);
  s = seconds_since(t0);
  std::printf("append, 1000 records/transaction: %8d records in %7.2f s = %9.0f records/s\n", 10000, s,
              10000.0 / s);
  flush();

  // 3. The rest of the big log, batched.
  t0 = Clock::now();
  append_batched(db, singles + 10000, total, 1000);
  s = seconds_since(t0);
  std::printf("build log to %llu records (batched): %7.2f s\n", static_cast<unsigned long long>(total), s);
  flush();

  t0 = Clock::now();
  auto cp = audit::sign_checkpoint(db, *key, origin);
  REQUIRE(cp.ok());
  CHECK(cp->size == total);
  std::printf("sign checkpoint at %llu:            %9.3f ms\n", static_cast<unsigned long long>(total),
              seconds_since(t0) * 1000);
  flush();

  // 4. audit verify over the whole log (target: < 5 s for 1,000,000 records).
  t0 = Clock::now();
  double cpu0 = cpu_seconds();
  auto report = audit::verify_log(db, key->verifier(), origin, std::nullopt);
  s = seconds_since(t0);
  const double cpu = cpu_seconds() - cpu0;
  REQUIRE(report.ok());
  CHECK(report->records == total);
  std::printf(
      "verify_log over %llu records:      %7.2f s, %.2f s CPU (%.0f records/s; target < 5 s for "
      "1e6)%s\n",
      static_cast<unsigned long long>(total), s, cpu, double(total) / s,
      (total >= 1000000 && s >= 5.0) ? "  ** over target **" : "");
  flush();

  // 5. Proof generation at that size: median and p99 over random indexes.
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<uint64_t> pick(0, total - 1);
  std::vector<double> us;
  us.reserve(proofs);
  std::string last;
  uint64_t last_index = 0;
  for (uint64_t i = 0; i < proofs; ++i) {
    const uint64_t index = pick(rng);
    t0 = Clock::now();
    auto proof = audit::proof_for(db, index);
    us.push_back(seconds_since(t0) * 1e6);
    REQUIRE(proof.ok());
    last = std::move(*proof);
    last_index = index;
  }
  std::sort(us.begin(), us.end());
  std::printf("proof_for at %llu records:         median %7.1f us, p99 %7.1f us, max %7.1f us (%llu proofs)\n",
              static_cast<unsigned long long>(total), us[us.size() / 2], us[(us.size() * 99) / 100],
              us.back(), static_cast<unsigned long long>(proofs));
  flush();

  // Sanity: the last proof verifies for its record's leaf (the stored leaf,
  // which verify_log just matched against the record).
  auto leaf = store::tree_node(db, 0, last_index);
  REQUIRE(leaf.ok());
  auto parsed = merkle::parse_tlog_proof(last);
  REQUIRE(parsed.ok());
  CHECK(merkle::verify_tlog_proof(*parsed, *leaf, key->verifier(), origin).ok());
}

TEST_CASE("bench: audit verify on a kept log" * doctest::skip()) {
  const char* path = std::getenv("KP_BENCH_DB");
  if (path == nullptr || *path == '\0') {
    MESSAGE("skipped: set KP_BENCH_DB to the path of the log to keep");
    return;
  }
  const std::string db_path = path, key_path = db_path + ".key", origin = "bench.example/log";
  const bool fresh = !std::filesystem::exists(db_path);
  auto opened = store::Db::open(db_path);
  REQUIRE(opened.ok());
  store::Db db = std::move(*opened);
  std::optional<note::SignerKey> key;
  if (fresh) {
    const uint64_t total = env_count("KP_BENCH_RECORDS", 1000000);
    const uint64_t every = env_count("KP_BENCH_CHECKPOINT_EVERY", 0);
    auto made = note::generate(origin);
    REQUIRE(made.ok());
    key = std::move(*made);
    auto text = note::format_signer_key(*key);
    REQUIRE(text.ok());
    std::ofstream(key_path) << std::string(reinterpret_cast<const char*>(text->data()),
                                           text->size());
    auto t0 = Clock::now();
    const uint64_t step = every == 0 ? total : every;
    for (uint64_t at = 0; at < total;) {
      const uint64_t to = std::min(total, at + step);
      append_batched(db, at, to, 1000);
      REQUIRE(audit::sign_checkpoint(db, *key, origin).ok());
      at = to;
    }
    std::printf("built %s: %llu records, a checkpoint every %llu, in %.1f s\n", db_path.c_str(),
                static_cast<unsigned long long>(total), static_cast<unsigned long long>(step),
                seconds_since(t0));
  } else {
    std::ifstream in(key_path);
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = note::parse_signer_key(text.str());
    REQUIRE(parsed.ok());
    key = std::move(*parsed);
  }
  flush();
  const uint64_t runs = std::max<uint64_t>(env_count("KP_BENCH_RUNS", 5), 1);
  std::vector<double> times, cpus;
  for (uint64_t r = 0; r < runs; ++r) {
    auto t0 = Clock::now();
    const double cpu0 = cpu_seconds();
    auto report = audit::verify_log(db, key->verifier(), origin, std::nullopt);
    times.push_back(seconds_since(t0));
    cpus.push_back(cpu_seconds() - cpu0);
    REQUIRE(report.ok());
    std::printf("verify_log: %llu records, %llu checkpoints, %.3f s, %.3f s CPU\n",
                static_cast<unsigned long long>(report->records),
                static_cast<unsigned long long>(report->checkpoints), times.back(), cpus.back());
    flush();
  }
  std::sort(times.begin(), times.end());
  std::sort(cpus.begin(), cpus.end());
  std::printf(
      "verify_log median of %llu runs: %.3f s (min %.3f, max %.3f), CPU %.3f s (min %.3f, max "
      "%.3f)\n",
      static_cast<unsigned long long>(runs), times[times.size() / 2], times.front(), times.back(),
      cpus[cpus.size() / 2], cpus.front(), cpus.back());
}
