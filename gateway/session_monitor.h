// The privileged half of one authenticated connection: it holds the
// principal, the store handle and the directory descriptors of the
// principal's view, and answers the sandboxed session child's requests
// (gateway/monitor_wire.h) one at a time. Everything is decided here again,
// whatever the child already checked: the path is canonicalised and
// resolved against this principal's view only, the mandate or account is
// rechecked before every request, limits are enforced at open and again at
// commit, and a token names only a descriptor this monitor handed out.
//
// A malformed or unknown request, an unknown token or a descriptor where
// none belongs ends the connection: an honest child never sends one.
// Revocation: once the principal lost its entitlement every request is
// refused, the shared flag tells the child to refuse reads and writes on
// descriptors it holds, and the connection is ended kRevokedGraceSeconds
// later.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <set>
#include <optional>
#include <string>

#include "common/settings.h"
#include "gateway/monitor_wire.h"
#include "gateway/principal.h"
#include "gateway/view.h"
#include "store/uploads.h"

namespace kp::gateway {

inline constexpr int kRevokedGraceSeconds = 5;

class SessionMonitor {
 public:
  SessionMonitor(const Settings& settings, Authority& auth, Principal principal, View view,
                 monitor::SharedFlag* flag);
  ~SessionMonitor();

  // Serves the child on `sock` until it closes the channel, breaks the
  // protocol or has to go (revoked past the grace); then removes every
  // partial file that was never committed. Returns why it stopped.
  std::string serve(int sock, pid_t child);

 private:
  struct Open;
  struct TempUpload {
    std::string partial_name;
    int64_t size = 0;
    std::string sha256_hex;
  };
  struct Target {
    std::string path;      // canonical, for messages and the audit log
    Area* area = nullptr;  // null at the root
    std::string name;      // empty for the root or an area itself
  };
  using Reply = monitor::Reply;
  using Request = monitor::Request;

  // One request; `fd` is what to pass back with the reply (-1: none).
  // Returns false when the request breaks the protocol.
  bool dispatch(const Request& q, Reply& reply, int& fd, int sock);

  Status entitled();
  Result<Target> resolve(const std::string& client_path);
  // resolve(), and a file inside an area; else "permission-denied" with
  // `refusal` followed by the path.
  Result<Target> resolve_file(const std::string& client_path, std::string_view refusal);
  Status check_area(const Area& area, bool writing);
  Result<sftp::Attrs> stat_target(const Target& t);

  void on_stat(const Request&, Reply&);
  void on_open_read(const Request&, Reply&, int& fd);
  void on_open_write(const Request&, Reply&, int& fd);
  bool on_close_write(const Request&, Reply&);
  bool on_close_read(const Request&, Reply&);
  bool on_discard(const Request&, Reply&);
  // Sends the listing itself (one or more messages); sets reply.error instead when refused.
  void on_list(const Request&, Reply&, int sock);
  void on_remove(const Request&, Reply&);
  void on_rename(const Request&, Reply&);
  void on_setstat(const Request&, Reply&);
  void on_statvfs(const Request&, Reply&);
  void on_channel_refused(const Request&, Reply&);

  // The day's uploads of this municipality plus this session's temporary
  // ones (but `excluding_temp`, the one being committed).
  Result<store::DayUsage> usage_today(const std::string& excluding_temp);
  // usage_today(), refused with a limit.hit record when one more file or
  // `adding_bytes` would pass a limit.
  Result<store::DayUsage> check_daily_limits(const std::string& object, int64_t adding_bytes, bool counting_file,
                                             const std::string& excluding_temp);
  Status commit(Area& area, const TempUpload& t, const std::string& final_name, const std::string& renamed_from);
  void drop_partial(Area& area, const std::string& partial_name);
  // An acknowledgement (a file of /outbox moved to the archive) and its
  // audit record, in one transaction: the client hears OK only after it.
  Status record_acknowledgement(const Area& a, const std::string& name, const std::string& archived, int64_t size);
  // Drops every open upload and every temporary one of this SFTP session.
  void drop_uncommitted();
  void audit(const std::string& event, const std::string& outcome, std::optional<std::string> object,
             std::optional<int64_t> size = {}, std::optional<std::string> sha = {},
             std::optional<std::string> reason = {});
  void set_revoked(const Error& e);

  const Settings& settings_;
  Authority& auth_;
  Principal principal_;
  View view_;
  monitor::SharedFlag* flag_;
  std::map<uint32_t, std::unique_ptr<Open>> opens_;
  uint32_t next_token_ = 1;
  std::map<std::string, TempUpload> temps_;  // closed uploads under a temporary name
  static constexpr std::size_t kMaxOwnUploads = 1024;
  std::set<std::string> own_uploads_;  // names this session committed (setstat is a no-op on them)
  std::optional<Error> revoked_;
  int64_t revoked_at_ms_ = 0;
  int channel_refusals_ = 0;
};

}  // namespace kp::gateway
