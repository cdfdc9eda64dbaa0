// One SFTP session: decoded requests in, replies out, over a principal's
// virtual view.
//
// Like OpenSSH's sftp-server.c: one table maps each request type to its
// handler; one permission check (the mandate recheck) runs before any
// handler; every handler decodes the whole request first (the codec does
// that), then acts; errors map to SFTP statuses with a safe default
// (SSH_FX_FAILURE); every refusal is logged with its reason. A malformed
// packet ends the session.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/datadir.h"
#include "common/digest.h"
#include "common/handles.h"
#include "common/settings.h"
#include "gateway/principal.h"
#include "gateway/sftp_codec.h"
#include "gateway/view.h"
#include "gateway/vpath.h"

namespace kp::gateway {

class SftpSession {
 public:
  SftpSession(const Settings& settings, Authority& auth, Principal principal, View view);
  ~SftpSession();

  // Handles one decoded request, appending the reply to `out`. Returns false
  // when the session must end (protocol violation).
  bool handle(const sftp::Request& req, std::vector<uint8_t>& out);

  // Ends the session: open uploads that were never committed are discarded.
  void finish();

 private:
  struct Handle;
  struct TempUpload {
    std::string partial_name;
    int64_t size = 0;
    std::string sha256_hex;
  };
  struct Target {
    VPath path;
    Area* area = nullptr;   // null at the root
    std::string name;       // empty for the root or an area itself
  };
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

  Result<Target> resolve(std::string_view client_path);
  Status check_area(const Area& area, bool writing);
  Handle* find_handle(std::string_view h);
  Result<std::string> add_handle(std::unique_ptr<Handle> h);
  Result<sftp::Attrs> stat_target(const Target& t);
  Status open_upload(const Target& t, std::unique_ptr<Handle>& h);
  Status close_upload(Handle& h);
  Status finish_temp(const std::string& temp, const std::string& final_name);
  void reply_error(Out& out, uint32_t id, const Error& e, std::string_view op);
  void reply_ok(Out& out, uint32_t id) { sftp::encode_status(out, id, sftp::StatusCode::ok); }
  void audit(const std::string& event, const std::string& outcome, std::optional<std::string> object,
             std::optional<int64_t> size = {}, std::optional<std::string> sha = {},
             std::optional<std::string> reason = {});

  const Settings& settings_;
  Authority& auth_;
  Principal principal_;
  View view_;
  std::map<std::string, std::unique_ptr<Handle>> handles_;
  uint64_t next_handle_ = 1;
  std::map<std::string, TempUpload> temps_;  // closed uploads under a temporary name
  bool initialised_ = false;
};

}  // namespace kp::gateway
