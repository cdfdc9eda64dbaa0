// Receipt JSON and signature; see receipt.h.
#include "workers/receipt.h"

#include <Poco/JSON/Object.h>

#include "common/log.h"

#include <ctime>
#include <sstream>

namespace kp::workers {

std::string iso8601_ms(int64_t ms) { return log::format_iso8601(ms); }

std::string receipt_json(const Receipt& r) {
  // Poco's Object keeps keys sorted, which makes the serialisation stable.
  Poco::JSON::Object o;
  o.set("format", "knooppunt-receipt/1");
  o.set("upload", r.upload);
  o.set("sha256", r.sha256);
  o.set("received", r.received);
  o.set("verdict", r.accepted ? "accepted" : "rejected");
  o.set("reason_code", r.reason_code);
  o.set("reason_text", r.reason_text);
  o.set("case_id", r.case_id ? Poco::Dynamic::Var(*r.case_id) : Poco::Dynamic::Var());
  o.set("log_index", r.log_index);
  o.set("proof", r.proof ? Poco::Dynamic::Var(*r.proof) : Poco::Dynamic::Var());
  if (r.record) o.set("record", *r.record);
  std::ostringstream out;
  o.stringify(out, 2);
  out << "\n";
  return out.str();
}

Result<std::string> sign_receipt(const minisign::SecretKey& hub, const Receipt& r, const std::string& json) {
  std::string comment = "knooppunt receipt for " + r.upload + " (" + (r.accepted ? "accepted" : "rejected") + ")";
  // Upload names are printable (vpath refuses control characters), so the
  // trusted comment stays one line.
  return minisign::sign(hub, json, comment, "signed by the knooppunt hub key");
}

}  // namespace kp::workers
