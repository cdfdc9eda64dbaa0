// The wegingskader score; see ranking.h for the weights and why.
#include "policy/ranking.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace kp::policy {

namespace {

// A weight as used: negative or NaN counts as 0, infinity as 0 too (it
// would make every other part vanish, which no one can mean).
double usable(double w) {
  return std::isfinite(w) && w > 0 ? w : 0.0;
}

// log(1 + x) / log(1 + full), clamped to [0, 1]; grows with x.
double log_fraction(int64_t x, int64_t full) {
  if (x <= 0) return 0.0;
  if (full < 1) full = 1;
  if (x >= full) return 1.0;
  const double f = std::log1p(static_cast<double>(x)) / std::log1p(static_cast<double>(full));
  return std::clamp(f, 0.0, 1.0);
}

double health_weight(HealthRisk h, const RankWeights& w) {
  switch (h) {
    case HealthRisk::none:
      return 0.0;
    case HealthRisk::low:
      return usable(w.health_low);
    case HealthRisk::high:
      return usable(w.health_high);
  }
  return 0.0;
}

double domain_weight(Domain d, const RankWeights& w) {
  switch (d) {
    case Domain::Wlz:
      return usable(w.domain_wlz);
    case Domain::Jeugdwet:
      return usable(w.domain_jeugdwet);
    case Domain::Wmo:
      return usable(w.domain_wmo);
    case Domain::Zvw:
      return usable(w.domain_zvw);
    case Domain::other:
      return usable(w.domain_other);
  }
  return 0.0;
}

}  // namespace

Status check_rank_weights(const RankWeights& w) {
  const std::pair<const char*, double> weights[] = {{"damage", w.damage},
                                                    {"clients", w.clients},
                                                    {"health_low", w.health_low},
                                                    {"health_high", w.health_high},
                                                    {"domain_wlz", w.domain_wlz},
                                                    {"domain_jeugdwet", w.domain_jeugdwet},
                                                    {"domain_wmo", w.domain_wmo},
                                                    {"domain_zvw", w.domain_zvw},
                                                    {"domain_other", w.domain_other},
                                                    {"cross_municipality", w.cross_municipality}};
  bool any = false;
  for (const auto& [name, value] : weights) {
    KP_ENSURE(std::isfinite(value) && value >= 0, "rank-weights-invalid",
              std::string(name) + " must be a number of at least 0");
    any = any || value > 0;
  }
  KP_ENSURE(any, "rank-weights-invalid", "at least one weight must be above 0");
  KP_ENSURE(w.health_low <= w.health_high, "rank-weights-invalid",
            "health_low must not exceed health_high");
  KP_ENSURE(w.damage_full_eur >= 1, "rank-weights-invalid", "damage_full_eur must be at least 1");
  KP_ENSURE(w.clients_full >= 1, "rank-weights-invalid", "clients_full must be at least 1");
  KP_ENSURE(w.cross_full >= 1, "rank-weights-invalid", "cross_full must be at least 1");
  return ok_status();
}

RankInput rank_input(const Manifest& m, int other_municipalities_same_kvk) {
  RankInput in;
  in.damage_eur = m.estimated_damage_eur;
  in.clients = m.clients_affected;
  in.health_risk = m.health_risk;
  in.domain = m.domain;
  in.other_municipalities_same_kvk = other_municipalities_same_kvk;
  return in;
}

RankResult rank(const RankInput& in, const RankWeights& w) {
  const double health_max = std::max(usable(w.health_low), usable(w.health_high));
  const double domain_max =
      std::max({usable(w.domain_wlz), usable(w.domain_jeugdwet), usable(w.domain_wmo),
                usable(w.domain_zvw), usable(w.domain_other)});
  const double max_total =
      usable(w.damage) + usable(w.clients) + health_max + domain_max + usable(w.cross_municipality);
  const double scale = max_total > 0 ? 100.0 / max_total : 0.0;

  const std::pair<const char*, double> raw[] = {
      {"damage", usable(w.damage) * log_fraction(in.damage_eur, w.damage_full_eur)},
      {"clients", usable(w.clients) * log_fraction(in.clients, w.clients_full)},
      {"health_risk", health_weight(in.health_risk, w)},
      {"domain", domain_weight(in.domain, w)},
      {"cross_municipality",
       usable(w.cross_municipality) * log_fraction(in.other_municipalities_same_kvk, w.cross_full)},
  };

  // Whole hundredths, rounded down: the shown parts add up exactly to the
  // shown score, and the sum of floors never exceeds 100.
  RankResult r;
  int64_t total = 0;
  for (const auto& [name, points] : raw) {
    const int64_t hundredths = std::clamp(static_cast<int64_t>(std::floor(points * scale * 100.0)),
                                          int64_t{0}, int64_t{10000});
    total += hundredths;
    r.parts.emplace_back(name, static_cast<double>(hundredths) / 100.0);
  }
  r.score = static_cast<double>(std::min<int64_t>(total, 10000)) / 100.0;
  return r;
}

std::string explain(const RankResult& r) {
  std::string out;
  char buf[64];
  for (const auto& [name, points] : r.parts) {
    if (!out.empty()) out += " + ";
    std::snprintf(buf, sizeof buf, "%.2f", points);
    out += name + " " + buf;
  }
  std::snprintf(buf, sizeof buf, "%.2f", r.score);
  out += std::string(" = ") + buf;
  return out;
}

int rank_label(double score) { return static_cast<int>(std::lround(score)); }

}  // namespace kp::policy
