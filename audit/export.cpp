// Audit records as JSON lines; see export.h.
#include "audit/export.h"

#include <Poco/JSON/Object.h>

#include <sstream>

#include "audit/merkle.h"
#include "audit/record.h"
#include "common/digest.h"
#include "common/log.h"

namespace kp::audit {

std::string leaf_hash_hex(const store::AuditEvent& e) {
  uint64_t index = static_cast<uint64_t>(e.id - 1);
  merkle::Hash leaf = merkle::leaf_hash(canonical_record(e, index));
  return to_hex(leaf.data(), leaf.size());
}

std::string record_json(const store::AuditEvent& e) {
  Poco::JSON::Object o;
  o.set("index", static_cast<uint64_t>(e.id - 1));
  o.set("time", log::format_iso8601(e.ts_ms));
  o.set("event", e.event);
  o.set("outcome", e.outcome);
  auto put = [&](const char* k, const std::optional<std::string>& v) {
    o.set(k, v ? Poco::Dynamic::Var(*v) : Poco::Dynamic::Var());
  };
  put("actor", e.actor);
  put("role", e.role);
  put("municipality", e.municipality);
  put("object", e.object);
  o.set("size", e.size ? Poco::Dynamic::Var(*e.size) : Poco::Dynamic::Var());
  put("sha256", e.sha256);
  put("source", e.source);
  put("channel", e.channel);
  put("reason", e.reason);
  o.set("leaf_hash", leaf_hash_hex(e));
  std::ostringstream out;
  o.stringify(out);
  return out.str();
}

}  // namespace kp::audit
