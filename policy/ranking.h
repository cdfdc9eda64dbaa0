// The wegingskader: how urgent a signal is, as a score from 0 to 100 that
// hub staff can read back into its reasons.
//
// A signal's score is the sum of five parts, each a fixed number of points
// times a fraction in [0, 1] that grows with one input and never shrinks:
//
//   part                 default max  fraction
//   -------------------  -----------  ---------------------------------------
//   damage               35           log(1 + euros) / log(1 + 10 000 000):
//                                     EUR 1000 gives 15.00, 100k 25, 1M 30,
//                                     10M or more all 35 -- each tenfold
//                                     counts the same, so one huge claim does
//                                     not drown every other consideration
//   clients              20           log(1 + clients) / log(1 + 1000):
//                                     1 client 2.00, 10 give 6.94, 100 give
//                                     13.36, 1000 or more all 20
//   health_risk          25           none 0, low 10, high 25 -- harm to
//                                     clients weighs as much as a large sum
//   domain               10           Wlz 10 and Jeugdwet 10 (long-term care
//                                     and youth care: clients depend most on
//                                     their provider and are least able to
//                                     notice or complain), Wmo 7 (support at
//                                     home; the municipality's own task), Zvw 5
//                                     (insurers act first), other 3
//   cross_municipality   10           log(1 + n) / log(1 + 5), n = other
//                                     municipalities that reported the same
//                                     KvK: 1 gives 3.86, 2 gives 6.13,
//                                     5 or more all 10
//
// The defaults add up to 100. Configured weights may add up to anything:
// every part is scaled by 100 / (sum of the maxima) so the score stays in
// [0, 100]. Each part is rounded DOWN to hundredths and the score is the sum
// of the rounded parts, so the parts shown always add up to the score shown,
// and rounding can never push the score past 100. The function is pure and
// deterministic: same input and weights, same score, on every machine.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "policy/manifest.h"

namespace kp::policy {

// Named in receipts and the queue so a score can be traced to its rules.
inline constexpr std::string_view kRankVersion = "wegingskader/1";

struct RankWeights {
  double damage = 35;
  int64_t damage_full_eur = 10'000'000;  // euros at which damage reaches its max
  double clients = 20;
  int64_t clients_full = 1000;  // clients at which clients reaches its max
  double health_low = 10;
  double health_high = 25;
  double domain_wlz = 10;
  double domain_jeugdwet = 10;
  double domain_wmo = 7;
  double domain_zvw = 5;
  double domain_other = 3;
  double cross_municipality = 10;
  int64_t cross_full = 5;  // other municipalities at which the boost is full
};

// Checks weights before use (for the settings loader): every weight finite
// and >= 0, health_low <= health_high (so the score grows with the risk),
// every *_full >= 1, and at least one weight above 0.
// Error: "rank-weights-invalid", naming the weight.
Status check_rank_weights(const RankWeights& w);

struct RankInput {
  int64_t damage_eur = 0;  // negative counts as 0
  int64_t clients = 0;     // negative counts as 0
  HealthRisk health_risk = HealthRisk::none;
  Domain domain = Domain::other;
  int other_municipalities_same_kvk = 0;  // negative counts as 0
};

// The ranking input of a parsed manifest.
RankInput rank_input(const Manifest& m, int other_municipalities_same_kvk);

struct RankResult {
  double score = 0;  // 0..100, the sum of parts
  // In this order: damage, clients, health_risk, domain, cross_municipality.
  std::vector<std::pair<std::string, double>> parts;
};

// Scores `in` under `w`. Total: never fails, never throws; a weight that is
// negative or not a number counts as 0 (check_rank_weights refuses such
// weights up front). With all weights 0 every part is 0.
RankResult rank(const RankInput& in, const RankWeights& w = {});

// The rank as a whole number, rounded half up: what the queue file name
// spells (rank-045) and what `queue list` shows.
int rank_label(double score);

// One line for logs and the queue listing:
// "damage 25.00 + clients 13.36 + health_risk 25.00 + domain 7.00 +
// cross_municipality 0.00 = 70.36".
std::string explain(const RankResult& r);

}  // namespace kp::policy
