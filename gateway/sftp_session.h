// One SFTP session, in the sandboxed session child: decoded requests in,
// replies out.
//
// Like OpenSSH's sftp-server.c: one table maps each request type to its
// handler; every handler decodes the whole request first (the codec does
// that), then acts; errors map to SFTP statuses with a safe default
// (SSH_FX_FAILURE); every refusal is logged with its reason. A malformed
// packet ends the session.
//
// The child opens nothing itself. Whatever names a path (OPEN, OPENDIR,
// STAT, REMOVE, RENAME, SETSTAT, statvfs) is a request to the monitor
// (gateway/monitor_client.h), which checks the principal, the mandate and
// the limits and passes back a descriptor or a listing. READ, WRITE, FSTAT
// and fsync work on those descriptors directly, so bulk transfer costs no
// round trip; the monitor's shared flag stops them once the principal is
// no longer entitled.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/digest.h"
#include "common/handles.h"
#include "common/settings.h"
#include "gateway/monitor_client.h"
#include "gateway/sftp_codec.h"

namespace kp::gateway {

// Who the session belongs to, for the child's log lines only (the monitor
// holds the principal that decides).
struct SessionLabel {
  std::string account;
  std::string municipality;
};

class SftpSession {
 public:
  SftpSession(const Settings& settings, MonitorClient& monitor, SessionLabel label);
  ~SftpSession();

  // Handles one decoded request, appending the reply to `out`. Returns false
  // when the session must end (protocol violation, monitor gone).
  bool handle(const sftp::Request& req, std::vector<uint8_t>& out);

  // Ends the session: the monitor drops uploads that were never committed.
  void finish();

  // The refusals since the last call, one "knooppunt: code: sentence" line
  // each, for the channel's stderr (SSH extended data), which OpenSSH's
  // ssh (under sftp and scp) and PuTTY print while the SFTP client shows
  // only a generic text per status code. The same text is the status
  // message. At most 64 lines per session.
  std::string take_notices();

 private:
  struct Handle;
  using Out = std::vector<uint8_t>;

  void on_init(const sftp::Request&, Out&);
  void on_realpath(const sftp::Request&, Out&);
  void on_stat(const sftp::Request&, Out&);
  void on_fstat(const sftp::Request&, Out&);
  void on_open(const sftp::Request&, Out&);
  void on_close(const sftp::Request&, Out&);
  void on_read(const sftp::Request&, Out&);
  void on_write(const sftp::Request&, Out&);
  void on_opendir(const sftp::Request&, Out&);
  void on_readdir(const sftp::Request&, Out&);
  void on_remove(const sftp::Request&, Out&);
  void on_rename(const sftp::Request&, Out&);
  void on_setstat(const sftp::Request&, Out&);
  void on_fsetstat(const sftp::Request&, Out&);
  void on_refused(const sftp::Request&, Out&);
  void on_extended(const sftp::Request&, Out&);

  // One monitor request that answers OK or an error, replied as a status.
  void simple(monitor::Op op, std::string_view path, std::string_view path2, const sftp::Request& req,
              Out& out, std::string_view what);
  Handle* find_handle(std::string_view h);
  Result<std::string> add_handle(std::unique_ptr<Handle> h);
  Result<std::string> upload_sha256(Handle& h, uint64_t size);
  void discard(Handle& h, const Error& why, uint64_t end);
  void reply_error(Out& out, uint32_t id, const Error& e, std::string_view op);
  void reply_ok(Out& out, uint32_t id) { sftp::encode_status(out, id, sftp::StatusCode::ok); }

  const Settings& settings_;
  MonitorClient& monitor_;
  SessionLabel label_;
  std::map<std::string, std::unique_ptr<Handle>> handles_;
  uint64_t next_handle_ = 1;
  bool initialised_ = false;
  bool finished_ = false;
  std::string notices_;
  int notices_sent_ = 0;
};

}  // namespace kp::gateway
