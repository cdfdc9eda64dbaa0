// Structured logs: one event a line on stderr (logfmt), so that systemd's
// journal and any log shipper keep them whole.
//
//   ts=2026-11-22T10:15:03.120Z event=auth.refused user=j.jansen reason=mandate-revoked
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace kp::log {

using Field = std::pair<std::string_view, std::string_view>;

// Writes one line: ts, event, then the fields in order. Values with spaces,
// quotes, '=' or control bytes are quoted and escaped, so a hostile value
// can never start a new line or forge a field.
void event(std::string_view name, std::initializer_list<Field> fields = {});

// The current UTC time as ISO 8601 with milliseconds ("2026-11-22T10:15:03.120Z").
std::string now_iso8601();

// A time in ms since the epoch as ISO 8601 UTC with milliseconds.
std::string format_iso8601(long long ms);

// Milliseconds since the Unix epoch.
long long now_ms();

}  // namespace kp::log
