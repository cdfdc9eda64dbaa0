// Canonical audit records; see record.h.
#include "audit/record.h"

#include <charconv>
#include <cstring>

namespace kp::audit {

namespace {

// Writes records into a buffer sized beforehand for the worst case (every
// value byte escaped), one pointer bump per byte: a million records are
// serialised during verification, and appending field by field to a
// std::string (a capacity check per call) was a tenth of its time.
class Writer {
 public:
  explicit Writer(char* p) : p_(p) {}
  void raw(std::string_view s) {
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  void field(std::string_view name, std::string_view value) {
    raw(name);
    *p_++ = ':';
    *p_++ = ' ';
    for (const char c : value) {
      if (c == '\\') {
        *p_++ = '\\';
        *p_++ = '\\';
      } else if (c == '\n') {
        *p_++ = '\\';
        *p_++ = 'n';
      } else {
        *p_++ = c;
      }
    }
    *p_++ = '\n';
  }
  void number(std::string_view name, std::optional<int64_t> v) {
    char buf[24];
    std::size_t n = 0;
    if (v) n = static_cast<std::size_t>(std::to_chars(buf, buf + sizeof buf, *v).ptr - buf);
    field(name, std::string_view(buf, n));
  }
  char* end() const { return p_; }

 private:
  char* p_;
};

constexpr std::string_view kHeader = "knooppunt-audit/1\n";
// The field names with ": " and the newline, and two 20-digit numbers
// besides the size (index, time); generous.
constexpr std::size_t kFixedBytes = 256;

std::string_view view(const std::optional<std::string>& v) {
  return v ? std::string_view(*v) : std::string_view();
}

}  // namespace

void canonical_record_into(std::string& out, const RecordView& r, uint64_t index) {
  const std::size_t text = r.event.size() + r.outcome.size() + r.actor.size() + r.role.size() +
                           r.municipality.size() + r.object.size() + r.sha256.size() +
                           r.source.size() + r.channel.size() + r.reason.size();
  out.resize(kHeader.size() + kFixedBytes + 2 * text);
  Writer w(out.data());
  w.raw(kHeader);
  w.number("index", static_cast<int64_t>(index));
  w.number("time", r.ts_ms);
  w.field("event", r.event);
  w.field("outcome", r.outcome);
  w.field("actor", r.actor);
  w.field("role", r.role);
  w.field("municipality", r.municipality);
  w.field("object", r.object);
  w.number("size", r.size);
  w.field("sha256", r.sha256);
  w.field("source", r.source);
  w.field("channel", r.channel);
  w.field("reason", r.reason);
  out.resize(static_cast<std::size_t>(w.end() - out.data()));
}

std::string canonical_record(const store::AuditEvent& e, uint64_t index) {
  RecordView r;
  r.ts_ms = e.ts_ms;
  r.event = e.event;
  r.outcome = e.outcome;
  r.actor = view(e.actor);
  r.role = view(e.role);
  r.municipality = view(e.municipality);
  r.object = view(e.object);
  r.size = e.size;
  r.sha256 = view(e.sha256);
  r.source = view(e.source);
  r.channel = view(e.channel);
  r.reason = view(e.reason);
  std::string out;
  canonical_record_into(out, r, index);
  return out;
}

}  // namespace kp::audit
