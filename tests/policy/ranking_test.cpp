// Unit tests for policy/ranking.h: the documented points, bounds, the parts
// adding up to the score, monotonicity in every input, hostile weights.
#include "policy/ranking.h"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

using namespace kp::policy;

namespace {

double part(const RankResult& r, const std::string& name) {
  for (const auto& [n, v] : r.parts)
    if (n == name) return v;
  FAIL("no part " << name);
  return -1;
}

double sum_of_parts(const RankResult& r) {
  double s = 0;
  for (const auto& p : r.parts) s += p.second;
  return s;
}

RankInput input(int64_t damage, int64_t clients, HealthRisk h, Domain d, int others) {
  RankInput in;
  in.damage_eur = damage;
  in.clients = clients;
  in.health_risk = h;
  in.domain = d;
  in.other_municipalities_same_kvk = others;
  return in;
}

const std::vector<int64_t> kAmounts = {-5,
                                       0,
                                       1,
                                       2,
                                       9,
                                       10,
                                       99,
                                       100,
                                       999,
                                       1000,
                                       12345,
                                       100000,
                                       999999,
                                       1000000,
                                       9999999,
                                       10000000,
                                       10000001,
                                       1LL << 40,
                                       std::numeric_limits<int64_t>::max()};
const std::vector<HealthRisk> kRisks = {HealthRisk::none, HealthRisk::low, HealthRisk::high};
const std::vector<Domain> kDomains = {Domain::other, Domain::Zvw, Domain::Wmo, Domain::Jeugdwet,
                                      Domain::Wlz};

}  // namespace

TEST_CASE("ranking: the documented points") {
  RankResult zero = rank(input(0, 0, HealthRisk::none, Domain::other, 0));
  CHECK(zero.score == doctest::Approx(3.0));  // only the domain "other"
  REQUIRE(zero.parts.size() == 5);
  CHECK(zero.parts[0].first == "damage");
  CHECK(zero.parts[1].first == "clients");
  CHECK(zero.parts[2].first == "health_risk");
  CHECK(zero.parts[3].first == "domain");
  CHECK(zero.parts[4].first == "cross_municipality");

  RankResult full = rank(input(10'000'000, 1000, HealthRisk::high, Domain::Wlz, 5));
  CHECK(full.score == doctest::Approx(100.0));
  CHECK(part(full, "damage") == doctest::Approx(35));
  CHECK(part(full, "clients") == doctest::Approx(20));
  CHECK(part(full, "health_risk") == doctest::Approx(25));
  CHECK(part(full, "domain") == doctest::Approx(10));
  CHECK(part(full, "cross_municipality") == doctest::Approx(10));

  CHECK(part(rank(input(1, 0, HealthRisk::none, Domain::other, 0)), "damage") ==
        doctest::Approx(1.50));
  CHECK(part(rank(input(1000, 0, HealthRisk::none, Domain::other, 0)), "damage") ==
        doctest::Approx(15.00));
  CHECK(part(rank(input(0, 1, HealthRisk::none, Domain::other, 0)), "clients") ==
        doctest::Approx(2.00));
  CHECK(part(rank(input(0, 10, HealthRisk::none, Domain::other, 0)), "clients") ==
        doctest::Approx(6.94));
  CHECK(part(rank(input(0, 100, HealthRisk::none, Domain::other, 0)), "clients") ==
        doctest::Approx(13.36));
  CHECK(part(rank(input(0, 0, HealthRisk::low, Domain::other, 0)), "health_risk") ==
        doctest::Approx(10));
  CHECK(part(rank(input(0, 0, HealthRisk::none, Domain::other, 1)), "cross_municipality") ==
        doctest::Approx(3.86));
  CHECK(part(rank(input(0, 0, HealthRisk::none, Domain::other, 2)), "cross_municipality") ==
        doctest::Approx(6.13));
  CHECK(part(rank(input(0, 0, HealthRisk::none, Domain::Wmo, 0)), "domain") == doctest::Approx(7));
  CHECK(part(rank(input(0, 0, HealthRisk::none, Domain::Zvw, 0)), "domain") == doctest::Approx(5));
  CHECK(part(rank(input(0, 0, HealthRisk::none, Domain::Jeugdwet, 0)), "domain") ==
        doctest::Approx(10));

  // The example from the design: EUR 125000, 14 clients, high risk, Wmo.
  RankResult ex = rank(input(125000, 14, HealthRisk::high, Domain::Wmo, 0));
  CHECK(explain(ex) ==
        "damage 25.48 + clients 7.83 + health_risk 25.00 + domain 7.00 + cross_municipality 0.00 = "
        "65.31");
}

TEST_CASE("ranking: bounds and parts sum over the whole input grid") {
  for (int64_t d : kAmounts)
    for (int64_t c : kAmounts)
      for (HealthRisk h : kRisks)
        for (Domain dom : kDomains)
          for (int o : {-1, 0, 1, 3, 5, 6, 1000, std::numeric_limits<int>::max()}) {
            RankResult r = rank(input(d, c, h, dom, o));
            REQUIRE(r.score >= 0.0);
            REQUIRE(r.score <= 100.0);
            REQUIRE(sum_of_parts(r) == doctest::Approx(r.score).epsilon(1e-12));
            for (const auto& p : r.parts) REQUIRE(p.second >= 0.0);
            // Whole hundredths.
            REQUIRE(std::fabs(r.score * 100 - std::round(r.score * 100)) < 1e-6);
          }
}

TEST_CASE("ranking: monotonic in every input") {
  for (HealthRisk h : kRisks)
    for (Domain dom : kDomains) {
      double prev = -1;
      for (int64_t d : kAmounts) {
        double s = rank(input(d, 10, h, dom, 1)).score;
        CHECK(s >= prev);
        prev = s;
      }
      prev = -1;
      for (int64_t c : kAmounts) {
        double s = rank(input(5000, c, h, dom, 1)).score;
        CHECK(s >= prev);
        prev = s;
      }
      prev = -1;
      for (int o = -1; o < 20; ++o) {
        double s = rank(input(5000, 10, h, dom, o)).score;
        CHECK(s >= prev);
        prev = s;
      }
    }
  // Strictly growing below the caps.
  CHECK(rank(input(1001, 0, HealthRisk::none, Domain::other, 0)).score >
        rank(input(1000, 0, HealthRisk::none, Domain::other, 0)).score - 1e-9);
  CHECK(rank(input(2000, 0, HealthRisk::none, Domain::other, 0)).score >
        rank(input(1000, 0, HealthRisk::none, Domain::other, 0)).score);
  CHECK(rank(input(0, 2, HealthRisk::none, Domain::other, 0)).score >
        rank(input(0, 1, HealthRisk::none, Domain::other, 0)).score);
  // Risk: none < low < high. Domain: other < Zvw < Wmo < Jeugdwet == Wlz.
  for (std::size_t i = 1; i < kRisks.size(); ++i)
    CHECK(rank(input(0, 0, kRisks[i], Domain::other, 0)).score >
          rank(input(0, 0, kRisks[i - 1], Domain::other, 0)).score);
  for (std::size_t i = 1; i < kDomains.size(); ++i)
    CHECK(rank(input(0, 0, HealthRisk::none, kDomains[i], 0)).score >=
          rank(input(0, 0, HealthRisk::none, kDomains[i - 1], 0)).score);
}

TEST_CASE("ranking: deterministic") {
  RankInput in = input(777777, 33, HealthRisk::low, Domain::Jeugdwet, 2);
  RankResult a = rank(in), b = rank(in);
  CHECK(a.score == b.score);
  CHECK(a.parts == b.parts);
  CHECK(explain(a) == explain(b));
}

TEST_CASE("ranking: configured weights are scaled into 0..100") {
  RankWeights big;
  big.damage = 1e6;
  big.clients = 3;
  RankResult r =
      rank(input(std::numeric_limits<int64_t>::max(), 1000, HealthRisk::high, Domain::Wlz, 5), big);
  CHECK(r.score <= 100.0);
  CHECK(r.score >= 99.99);
  CHECK(sum_of_parts(r) == doctest::Approx(r.score));

  // Only health risk counts.
  RankWeights only_risk;
  only_risk.damage = only_risk.clients = only_risk.cross_municipality = 0;
  only_risk.domain_wlz = only_risk.domain_jeugdwet = only_risk.domain_wmo = only_risk.domain_zvw =
      only_risk.domain_other = 0;
  CHECK(check_rank_weights(only_risk).ok());
  CHECK(rank(input(1'000'000, 100, HealthRisk::high, Domain::Wlz, 3), only_risk).score ==
        doctest::Approx(100));
  CHECK(rank(input(1'000'000, 100, HealthRisk::low, Domain::Wlz, 3), only_risk).score ==
        doctest::Approx(40));

  // Hostile weights: rank stays total and bounded.
  for (double w : {-1.0, std::nan(""), std::numeric_limits<double>::infinity(),
                   -std::numeric_limits<double>::infinity(), 1e308}) {
    RankWeights h;
    h.damage = w;
    h.health_high = w;
    h.domain_other = w;
    RankResult x = rank(input(5000, 10, HealthRisk::high, Domain::other, 1), h);
    CHECK(x.score >= 0.0);
    CHECK(x.score <= 100.0);
    CHECK(sum_of_parts(x) == doctest::Approx(x.score));
  }
  RankWeights none;
  none.damage = none.clients = none.health_low = none.health_high = none.cross_municipality = 0;
  none.domain_wlz = none.domain_jeugdwet = none.domain_wmo = none.domain_zvw = none.domain_other =
      0;
  CHECK(rank(input(5000, 10, HealthRisk::high, Domain::Wlz, 1), none).score == 0.0);
  CHECK(check_rank_weights(none).error().code == "rank-weights-invalid");

  RankWeights zero_full;
  zero_full.damage_full_eur = 0;
  zero_full.clients_full = -3;
  zero_full.cross_full = 0;
  RankResult z = rank(input(1, 1, HealthRisk::none, Domain::other, 1), zero_full);
  CHECK(z.score <= 100.0);
  CHECK(part(z, "damage") == doctest::Approx(35));
}

TEST_CASE("ranking: check_rank_weights") {
  CHECK(check_rank_weights(RankWeights{}).ok());
  auto bad = [](auto mutate) {
    RankWeights w;
    mutate(w);
    auto s = check_rank_weights(w);
    return !s.ok() && s.error().code == "rank-weights-invalid";
  };
  CHECK(bad([](RankWeights& w) { w.damage = -1; }));
  CHECK(bad([](RankWeights& w) { w.clients = std::nan(""); }));
  CHECK(
      bad([](RankWeights& w) { w.cross_municipality = std::numeric_limits<double>::infinity(); }));
  CHECK(bad([](RankWeights& w) { w.domain_zvw = -0.5; }));
  CHECK(bad([](RankWeights& w) { w.health_low = 30; }));
  CHECK(bad([](RankWeights& w) { w.damage_full_eur = 0; }));
  CHECK(bad([](RankWeights& w) { w.clients_full = -1; }));
  CHECK(bad([](RankWeights& w) { w.cross_full = 0; }));
  CHECK(check_rank_weights(RankWeights{}).ok());
  CHECK(kRankVersion == "wegingskader/1");
}

TEST_CASE("ranking: rank_input takes the manifest's fields") {
  Manifest m;
  m.estimated_damage_eur = 125000;
  m.clients_affected = 14;
  m.health_risk = HealthRisk::low;
  m.domain = Domain::Zvw;
  RankInput in = rank_input(m, 4);
  CHECK(in.damage_eur == 125000);
  CHECK(in.clients == 14);
  CHECK(in.health_risk == HealthRisk::low);
  CHECK(in.domain == Domain::Zvw);
  CHECK(in.other_municipalities_same_kvk == 4);
}
