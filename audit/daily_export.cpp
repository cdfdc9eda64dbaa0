// Daily exports; see daily_export.h.
#include "audit/daily_export.h"

#include <unistd.h>

#include "audit/export.h"
#include "common/atomic_file.h"
#include "common/dates.h"
#include "store/audit_queries.h"

namespace kp::audit {

Result<int> publish_daily_exports(store::Db& db, const DataDir& data, int64_t now_ms) {
  KP_TRY(auto first, store::first_audit_ms(db));
  if (!first) return 0;
  int64_t today = now_ms - now_ms % kDayMs;
  int written = 0;
  for (int64_t day = *first - *first % kDayMs; day < today; day += kDayMs) {
    std::string path = data.audit() + "/export-" + format_day(day) + ".jsonl";
    if (::access(path.c_str(), F_OK) == 0) continue;
    store::AuditFilter f;
    f.since_ms = day;
    f.until_ms = day + kDayMs;
    KP_TRY(auto events, store::list_audit_filtered(db, f, 0, -1, false));
    std::string text;
    for (const auto& e : events) text += record_json(e) + "\n";
    KP_GUARD(write_file_atomic(path, text));
    ++written;
  }
  return written;
}

}  // namespace kp::audit
