// Canonical audit records; see record.h.
#include "audit/record.h"

namespace kp::audit {

namespace {

void field(std::string& out, const char* name, const std::string& value) {
  out += name;
  out += ": ";
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out.push_back(c);
  }
  out.push_back('\n');
}

void field(std::string& out, const char* name, const std::optional<std::string>& v) {
  field(out, name, v ? *v : std::string());
}

}  // namespace

std::string canonical_record(const store::AuditEvent& e, uint64_t index) {
  std::string out = "knooppunt-audit/1\n";
  field(out, "index", std::to_string(index));
  field(out, "time", std::to_string(e.ts_ms));
  field(out, "event", e.event);
  field(out, "outcome", e.outcome);
  field(out, "actor", e.actor);
  field(out, "role", e.role);
  field(out, "municipality", e.municipality);
  field(out, "object", e.object);
  field(out, "size", e.size ? std::to_string(*e.size) : std::string());
  field(out, "sha256", e.sha256);
  field(out, "source", e.source);
  field(out, "channel", e.channel);
  field(out, "reason", e.reason);
  return out;
}

}  // namespace kp::audit
