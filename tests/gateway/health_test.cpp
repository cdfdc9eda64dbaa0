// Unit tests for gateway/health.h: each check fails on its own fact and
// names itself; the status request's codec refuses extra or oversized
// fields; the monitor answers status only with a source to ask.
#include "gateway/health.h"

#include <doctest/doctest.h>

#include "common/bytes.h"
#include "tests/support/temp_dir.h"

using namespace kp;
using namespace kp::gateway;

namespace {

constexpr int64_t kNow = 1'000'000'000;

HealthFacts healthy() {
  HealthFacts f;
  store::HealthRecords r;
  r.staff_recipients = 1;
  r.log_size = 10;
  r.checkpoint_size = 10;
  r.checkpoint_ms = kNow - 86400000;  // old, but nothing waits for it
  f.records = r;
  HostStatus h;
  h.store_ok = true;
  h.disk_free_bytes = 10ULL << 30;
  h.disk_size_bytes = 20ULL << 30;
  h.serve.workers_expected = 4;
  h.serve.workers_running = 4;
  f.host = h;
  return f;
}

std::vector<std::string> names(const std::vector<FailedCheck>& failing) {
  std::vector<std::string> out;
  for (const auto& f : failing) out.push_back(f.check);
  return out;
}

}  // namespace

TEST_CASE("health: all checks pass -> 200 ok") {
  Settings s;
  auto failing = failing_checks(healthy(), s, kNow);
  CHECK(failing.empty());
  auto a = health_answer(failing);
  CHECK(a.status == 200);
  CHECK(a.body == "ok\n");
}

TEST_CASE("health: each check fails on its own fact and is named") {
  Settings s;
  SUBCASE("disk below the threshold") {
    HealthFacts f = healthy();
    s.health_min_free_bytes = int64_t(f.host->disk_free_bytes) + 1;
    auto failing = failing_checks(f, s, kNow);
    CHECK(names(failing) == std::vector<std::string>{"disk"});
    CHECK(failing[0].reason.find("below health_min_free_bytes") != std::string::npos);
    auto a = health_answer(failing);
    CHECK(a.status == 503);
    CHECK(a.body.rfind("disk: ", 0) == 0);
  }
  SUBCASE("no staff recipient") {
    HealthFacts f = healthy();
    f.records->staff_recipients = 0;
    CHECK(names(failing_checks(f, s, kNow)) == std::vector<std::string>{"staff"});
  }
  SUBCASE("a record waited too long for a checkpoint") {
    HealthFacts f = healthy();
    f.records->log_size = 12;
    f.records->oldest_uncovered_ms = kNow - s.health_checkpoint_max_age_seconds * 1000 - 1;
    auto failing = failing_checks(f, s, kNow);
    CHECK(names(failing) == std::vector<std::string>{"checkpoint"});
    CHECK(failing[0].reason.rfind("2 transfer-log records", 0) == 0);
    // Just within the age: passes.
    f.records->oldest_uncovered_ms = kNow - s.health_checkpoint_max_age_seconds * 1000;
    CHECK(failing_checks(f, s, kNow).empty());
  }
  SUBCASE("workers missing or crash-looping; not watched with workers = 0") {
    HealthFacts f = healthy();
    f.host->serve.workers_running = 3;
    auto failing = failing_checks(f, s, kNow);
    CHECK(names(failing) == std::vector<std::string>{"workers"});
    CHECK(failing[0].reason == "3 of 4 intake workers running");
    f.host->serve.workers_running = 4;
    f.host->serve.worker_restarts_recent = 4;  // one each: not yet a loop
    CHECK(failing_checks(f, s, kNow).empty());
    f.host->serve.worker_restarts_recent = 5;
    CHECK(names(failing_checks(f, s, kNow)) == std::vector<std::string>{"workers"});
    f.host->serve = ServeCounts{};
    CHECK(failing_checks(f, s, kNow).empty());
  }
  SUBCASE("the store does not answer") {
    HealthFacts f = healthy();
    f.records.reset();
    CHECK(names(failing_checks(f, s, kNow)) == std::vector<std::string>{"database"});
    f = healthy();
    f.host->store_ok = false;
    CHECK(names(failing_checks(f, s, kNow)) == std::vector<std::string>{"database"});
  }
  SUBCASE("the monitor does not answer: what only it sees is unknown") {
    HealthFacts f = healthy();
    f.host.reset();
    auto failing = failing_checks(f, s, kNow);
    CHECK(names(failing) == std::vector<std::string>{"disk", "workers"});
  }
  SUBCASE("several at once, in order, one line each") {
    HealthFacts f = healthy();
    f.records->staff_recipients = 0;
    s.health_min_free_bytes = int64_t(1) << 60;
    auto a = health_answer(failing_checks(f, s, kNow));
    CHECK(a.status == 503);
    CHECK(a.body.rfind("disk: ", 0) == 0);
    CHECK(a.body.find("\nstaff: ") != std::string::npos);
    CHECK(std::count(a.body.begin(), a.body.end(), '\n') == 2);
  }
}

TEST_CASE("health: the status request and reply round-trip; malformed ones are refused") {
  auto req = parse_request(encode_request(StatusRequest{}));
  REQUIRE(req.ok());
  CHECK(std::holds_alternative<StatusRequest>(*req));
  CHECK(parse_request(std::string(1, char(MonitorOp::status)) + "x").error().code == "monitor-protocol");

  MonitorReply r;
  r.accepted = true;
  r.host = healthy().host;
  r.host->serve.sessions = 7;
  auto back = parse_reply(encode_reply(r), MonitorOp::status);
  REQUIRE(back.ok());
  REQUIRE(back->host);
  CHECK(back->host->disk_free_bytes == r.host->disk_free_bytes);
  CHECK(back->host->serve.workers_expected == 4);
  CHECK(back->host->serve.sessions == 7);
  CHECK(back->host->store_ok);

  std::string bytes = encode_reply(r);
  CHECK(parse_reply(bytes + "x", MonitorOp::status).error().code == "monitor-protocol");
  CHECK(parse_reply(bytes.substr(0, bytes.size() - 1), MonitorOp::status).error().code == "monitor-protocol");
  std::string bad_flag = bytes;
  bad_flag[1] = 2;  // store_ok is 0 or 1
  CHECK(parse_reply(bad_flag, MonitorOp::status).error().code == "monitor-protocol");
  r.host->serve.connections = int64_t(1) << 40;  // not a count of processes
  CHECK(parse_reply(encode_reply(r), MonitorOp::status).error().code == "monitor-protocol");
}

TEST_CASE("health: the monitor answers status from its source, and refuses without one") {
  testing::TempDir dir;
  store::Db db = store::Db::open(dir.path() + "/k.db").value();
  HttpMonitor m(db, Settings{});
  CHECK(m.answer(StatusRequest{}, 1000).reason == "status-unavailable");
  auto serve = ServeStatus::create();
  REQUIRE(serve.ok());
  serve->publish({2, 1, 3, 1, 5, 4});
  m.set_status_source([&] { return probe_host(db, dir.path(), &*serve); });
  auto a = m.answer(StatusRequest{}, 1000);
  REQUIRE(a.accepted);
  REQUIRE(a.host);
  CHECK(a.host->store_ok);
  CHECK(a.host->disk_size_bytes > 0);
  CHECK(a.host->disk_free_bytes <= a.host->disk_size_bytes);
  CHECK(a.host->serve.workers_expected == 2);
  CHECK(a.host->serve.workers_running == 1);
  CHECK(a.host->serve.worker_restarts == 3);
  CHECK(a.host->serve.connections == 5);
  CHECK(a.host->serve.sessions == 4);
  // A data directory that is gone reads as no free space (the disk check fails).
  CHECK(probe_host(db, dir.path() + "/missing", nullptr).disk_free_bytes == 0);
}
