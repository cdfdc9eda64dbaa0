// Key rotation announcements; see announcement.h.
#include "keys/announcement.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <cstdio>

#include "common/atomic_file.h"
#include "common/dates.h"
#include "common/handles.h"
#include "common/log.h"

namespace kp::keys {

namespace {

constexpr std::string_view kHeader = "knooppunt key rotation";

std::string optional_id(const std::string& id) { return id.empty() ? "-" : id; }

// "YYYY-MM-DDTHH:MM:SS.mmmZ" as format_iso8601 writes it.
Result<int64_t> parse_time(const std::string& s) {
  KP_ENSURE(s.size() == 24 && s[10] == 'T' && s[13] == ':' && s[16] == ':' && s[19] == '.' && s[23] == 'Z',
            "announcement-malformed", "not a UTC time: " + s);
  KP_TRY(int64_t day, parse_date_ms(s.substr(0, 10)));
  auto num = [&](std::size_t at, std::size_t n, int max) -> Result<int64_t> {
    int64_t v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      KP_ENSURE(s[i] >= '0' && s[i] <= '9', "announcement-malformed", "not a UTC time: " + s);
      v = v * 10 + (s[i] - '0');
    }
    KP_ENSURE(v <= max, "announcement-malformed", "not a UTC time: " + s);
    return v;
  };
  KP_TRY(int64_t h, num(11, 2, 23));
  KP_TRY(int64_t m, num(14, 2, 59));
  KP_TRY(int64_t sec, num(17, 2, 59));
  KP_TRY(int64_t ms, num(20, 3, 999));
  return day + ((h * 60 + m) * 60 + sec) * 1000 + ms;
}

Result<std::string> read_text(const std::string& path) {
  auto fd = Fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  KP_ENSURE(fd.valid(), "key-unreadable", "cannot read " + path);
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t r = ::read(fd.get(), buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    KP_ENSURE(r >= 0, "key-unreadable", "cannot read " + path);
    if (r == 0) break;
    out.append(buf, static_cast<std::size_t>(r));
    KP_ENSURE(out.size() <= 65536, "announcement-malformed", path + " is too large");
  }
  return out;
}

}  // namespace

std::string announcement_text(const Announcement& a) {
  std::string t = std::string(kHeader) + "\n";
  t += "key: " + a.key + "\n";
  t += "old key id: " + optional_id(a.old_id) + "\n";
  t += "old key: " + a.old_key + "\n";
  t += "new key id: " + optional_id(a.new_id) + "\n";
  t += "new key: " + a.new_key + "\n";
  t += "valid from: " + log::format_iso8601(a.valid_from_ms) + "\n";
  t += "old key accepted until: " + log::format_iso8601(a.grace_until_ms) + "\n";
  if (a.first_size) t += "first checkpoint size: " + std::to_string(*a.first_size) + "\n";
  return t;
}

Result<Announcement> parse_announcement(std::string_view text) {
  std::vector<std::string> lines;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t nl = text.find('\n', at);
    KP_ENSURE(nl != std::string_view::npos, "announcement-malformed", "the statement does not end in a newline");
    lines.emplace_back(text.substr(at, nl - at));
    at = nl + 1;
  }
  KP_ENSURE(!lines.empty() && lines[0] == kHeader, "announcement-malformed",
            "the statement does not start with \"knooppunt key rotation\"");
  const char* fields[] = {"key: ", "old key id: ", "old key: ", "new key id: ", "new key: ", "valid from: ",
                          "old key accepted until: ", "first checkpoint size: "};
  std::vector<std::string> values;
  for (std::size_t i = 0; i + 1 < lines.size() && i < std::size(fields); ++i) {
    const std::string& line = lines[i + 1];
    const std::string prefix = fields[i];
    KP_ENSURE(line.rfind(prefix, 0) == 0 && line.size() > prefix.size(), "announcement-malformed",
              "line " + std::to_string(i + 2) + " is not \"" + prefix + "...\"");
    values.push_back(line.substr(prefix.size()));
  }
  KP_ENSURE(values.size() >= 7 && lines.size() == values.size() + 1, "announcement-malformed",
            "the statement has " + std::to_string(lines.size()) + " lines");
  Announcement a;
  a.key = values[0];
  KP_ENSURE(a.key == "hub" || a.key == "log" || a.key == "intake", "announcement-malformed",
            "unknown key kind " + a.key);
  a.old_id = values[1] == "-" ? "" : values[1];
  a.old_key = values[2];
  a.new_id = values[3] == "-" ? "" : values[3];
  a.new_key = values[4];
  KP_TRY(a.valid_from_ms, parse_time(values[5]));
  KP_TRY(a.grace_until_ms, parse_time(values[6]));
  KP_ENSURE((values.size() == 8) == (a.key == "log"), "announcement-malformed",
            "\"first checkpoint size\" belongs to log key announcements only");
  if (values.size() == 8) {
    const std::string& n = values[7];
    KP_ENSURE(!n.empty() && n.size() < 19 && n.find_first_not_of("0123456789") == std::string::npos,
              "announcement-malformed", "first checkpoint size is not a number");
    a.first_size = std::stoull(n);
  }
  return a;
}

std::vector<std::string> announcement_names(const DataDir& d) {
  std::vector<std::string> out;
  DIR* dir = ::opendir(d.public_keys().c_str());
  if (!dir) return out;
  while (dirent* e = ::readdir(dir)) {
    std::string name = e->d_name;
    auto ends = [&](std::string_view suffix) {
      return name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    if (name.rfind("rotation-", 0) == 0 && (ends(".txt") || ends(".note"))) out.push_back(name);
  }
  ::closedir(dir);
  std::sort(out.begin(), out.end());
  return out;
}

std::string next_announcement_name(const DataDir& d, std::string_view kind) {
  const std::string prefix = "rotation-" + std::string(kind) + "-";
  int n = 1;
  for (const auto& name : announcement_names(d))
    if (name.rfind(prefix, 0) == 0) ++n;
  char num[16];
  std::snprintf(num, sizeof num, "%04d", n);
  return prefix + num + (kind == "log" ? ".note" : ".txt");
}

Result<std::string> publish_minisign_announcement(const DataDir& d, const Announcement& a,
                                                  const minisign::SecretKey& signer) {
  KP_GUARD(ensure_dir(d.public_keys()));
  const std::string text = announcement_text(a);
  const std::string trusted = "knooppunt key rotation: " + a.key + " key " + optional_id(a.old_id) + " -> " +
                              (a.new_id.empty() ? a.new_key : a.new_id) + ", valid from " +
                              log::format_iso8601(a.valid_from_ms);
  KP_TRY(std::string sig, minisign::sign(signer, text, trusted));
  const std::string name = next_announcement_name(d, a.key);
  const std::string path = d.public_keys() + "/" + name;
  // The signature first: a statement is never published without it.
  KP_GUARD(write_file_atomic(path + ".minisig", sig, 0644));
  KP_GUARD(write_file_atomic(path, text, 0644));
  return name;
}

Result<std::string> publish_log_announcement(const DataDir& d, const Announcement& a,
                                             const note::SignerKey& old_key, const note::SignerKey& new_key) {
  KP_GUARD(ensure_dir(d.public_keys()));
  KP_TRY(std::string signed_note, note::sign(announcement_text(a), old_key));
  KP_TRY(signed_note, note::add_signature(signed_note, new_key));
  const std::string name = next_announcement_name(d, "log");
  KP_GUARD(write_file_atomic(d.public_keys() + "/" + name, signed_note, 0644));
  return name;
}

Result<Announcement> verify_minisign_announcement(std::string_view text, std::string_view signature,
                                                  const minisign::PublicKey& old_key) {
  auto ok = minisign::verify(old_key, text, signature);
  KP_ENSURE(ok.ok(), "announcement-signature-invalid",
            "the announcement is not signed by the old key " + minisign::key_id_hex(old_key.key_id) + " (" +
                ok.error().code + ")");
  KP_TRY(Announcement a, parse_announcement(text));
  KP_ENSURE(a.key == "hub" || a.key == "intake", "announcement-malformed",
            "a " + a.key + " key announcement is a signed note, not a minisign statement");
  if (a.key == "hub") {
    KP_ENSURE(a.old_key == minisign::public_key_base64(old_key), "announcement-signature-invalid",
              "the announcement names another old key (" + a.old_key + ")");
    KP_TRY(minisign::PublicKey fresh, minisign::parse_public_key(a.new_key));
    // Announcements written before key ids lost their leading zeros (as minisign prints them) still verify.
    const auto first = a.new_id.find_first_not_of('0');
    const std::string unpadded = first == std::string::npos ? "0" : a.new_id.substr(first);
    KP_ENSURE(unpadded == minisign::key_id_hex(fresh.key_id), "announcement-malformed",
              "the new key id does not match the new key");
  }
  return a;
}

Result<Announcement> verify_log_announcement(std::string_view note_text, const note::VerifierKey& old_key) {
  auto opened = note::open(note_text, old_key);
  KP_ENSURE(opened.ok(), "announcement-signature-invalid",
            "the announcement is not signed by the old log key " + note::format_verifier_key(old_key) + " (" +
                opened.error().code + ")");
  KP_TRY(Announcement a, parse_announcement(*opened));
  KP_ENSURE(a.key == "log" && a.first_size, "announcement-malformed", "not a log key announcement");
  KP_ENSURE(a.old_key == note::format_verifier_key(old_key), "announcement-signature-invalid",
            "the announcement names another old key (" + a.old_key + ")");
  auto fresh = note::parse_verifier_key(a.new_key);
  KP_ENSURE(fresh.ok() && fresh->name == old_key.name && fresh->alg == note::kAlgEd25519,
            "announcement-malformed", "the new log key is not a log key of the same name");
  return a;
}

Result<LogKeyHistory> log_key_history(const DataDir& d, const note::VerifierKey& current) {
  LogKeyHistory history;
  for (const auto& name : announcement_names(d)) {
    if (name.rfind("rotation-log-", 0) != 0) continue;
    KP_TRY(std::string text, read_text(d.public_keys() + "/" + name));
    KP_TRY(note::Note unverified, note::parse(text));
    KP_TRY(Announcement claimed, parse_announcement(unverified.text));
    // The first announcement's old key is the log's first key; every later
    // one must be signed by the key the one before it announced.
    note::VerifierKey old_key;
    if (history.empty()) {
      auto first = note::parse_verifier_key(claimed.old_key);
      KP_ENSURE(first.ok(), "announcement-chain-broken", name + " names no valid old key");
      old_key = *first;
      history.push_back({old_key, 0});
    } else {
      old_key = history.back().key;
    }
    auto a = verify_log_announcement(text, old_key);
    KP_ENSURE(a.ok(), "announcement-chain-broken",
              name + " does not follow from the key before it: " + a.error().message());
    KP_ENSURE(*a->first_size >= history.back().from_size, "announcement-chain-broken",
              name + " starts before the key it replaces");
    KP_TRY(note::VerifierKey fresh, note::parse_verifier_key(a->new_key));
    history.push_back({fresh, *a->first_size});
  }
  if (history.empty()) return LogKeyHistory{{current, 0}};
  KP_ENSURE(note::format_verifier_key(history.back().key) == note::format_verifier_key(current),
            "announcement-chain-broken",
            "the last log key announcement does not name the current log key (" +
                note::format_verifier_key(current) + ")");
  return history;
}

}  // namespace kp::keys
