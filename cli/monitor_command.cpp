// `knooppunt audit monitor URL`: an auditor's own check of the transfer log,
// run from cron on the auditor's machine (audit/monitor.h has the checks).
// It fetches URL/checkpoint and the tiles it needs with the auditor's
// token, keeps its mirror in --state DIR (the last accepted checkpoint, the
// leaf hash of every record, and the full tiles fetched, in the tlog-tiles
// layout), prints one line for the journal and exits with the finding's
// code. A finding leaves the mirror as it was, so the next run reports it
// again.
#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/URI.h>
#include <sys/stat.h>

#include <cstring>
#include <iostream>

#include "audit/monitor.h"
#include "audit/tiles.h"
#include "cli/context.h"
#include "cli/handlers.h"
#include "cli/key_checks.h"
#include "common/atomic_file.h"
#include "gateway/web_token.h"

namespace kp::cli {

namespace {

constexpr std::size_t kMaxFetch = 1 << 24;

Result<std::string> http_get(const std::string& prefix, const std::string& path,
                             const std::string& auth) {
  try {
    Poco::URI uri(prefix + "/" + path);
    Poco::Net::HTTPClientSession session(uri.getHost(), uri.getPort());
    session.setTimeout(Poco::Timespan(10, 0));
    Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_GET, uri.getPathAndQuery(),
                               Poco::Net::HTTPMessage::HTTP_1_1);
    req.set("Authorization", "Bearer " + auth);
    session.sendRequest(req);
    Poco::Net::HTTPResponse resp;
    std::istream& in = session.receiveResponse(resp);
    std::string body(kMaxFetch + 1, '\0');
    in.read(body.data(), static_cast<std::streamsize>(body.size()));
    body.resize(static_cast<std::size_t>(in.gcount()));
    KP_ENSURE(resp.getStatus() == 200, "monitor-fetch-failed",
              path + ": HTTP " + std::to_string(resp.getStatus()) + " " +
                  body.substr(0, body.find('\n')));
    KP_ENSURE(body.size() <= kMaxFetch, "monitor-fetch-failed", path + " is larger than 16 MiB");
    return body;
  } catch (const Poco::Exception& e) {
    return make_error("monitor-fetch-failed", path + ": " + e.displayText());
  }
}

Result<audit::MonitorState> load_state(const std::string& dir) {
  audit::MonitorState s;
  struct stat st {};
  if (::stat((dir + "/checkpoint").c_str(), &st) != 0) return s;
  KP_TRY(s.checkpoint, read_small_file(dir + "/checkpoint", 1 << 20));
  // read_small_file allocates its cap: size it by the file.
  KP_ENSURE(::stat((dir + "/leaves").c_str(), &st) == 0, "monitor-state-damaged",
            dir + "/leaves is missing");
  KP_TRY(std::string leaves,
         read_small_file(dir + "/leaves", static_cast<std::size_t>(st.st_size) + 1));
  KP_ENSURE(leaves.size() % 32 == 0, "monitor-state-damaged", dir + "/leaves is not whole hashes");
  s.leaves.resize(leaves.size() / 32);
  for (std::size_t i = 0; i < s.leaves.size(); ++i)
    std::memcpy(s.leaves[i].data(), leaves.data() + 32 * i, 32);
  return s;
}

Status save_state(const std::string& dir, const audit::MonitorState& s) {
  std::string leaves;
  leaves.reserve(s.leaves.size() * 32);
  for (const auto& h : s.leaves) leaves.append(reinterpret_cast<const char*>(h.data()), 32);
  KP_GUARD(write_file_atomic(dir + "/leaves", leaves));
  return write_file_atomic(dir + "/checkpoint", s.checkpoint);
}

}  // namespace

int cmd_audit_monitor(const Args& a) {
  audit::Finding f;
  auto run = [&]() -> Status {
    std::string url = a.positional[0];
    while (!url.empty() && url.back() == '/') url.pop_back();
    KP_ENSURE(url.rfind("http://", 0) == 0, "usage",
              "URL must be http://HOST:PORT/log (behind TLS, use a local tunnel)");
    auto token_file = a.get("--token-file");
    auto log_key_file = a.get("--log-key");
    KP_ENSURE(token_file && log_key_file, "usage", "--token-file and --log-key are required");
    KP_TRY(std::string token, gateway::read_token_file(*token_file));
    // The token file holds "<auditor id>:<token>", or the token alone in a
    // file named after the auditor ("aud1.token").
    std::string auth = token;
    if (token.find(':') == std::string::npos) {
      std::string base = token_file->substr(token_file->rfind('/') + 1);
      KP_ENSURE(base.size() > 6 && base.ends_with(".token"), "usage",
                "--token-file holds <auditor id>:<token>, or is named <auditor id>.token");
      auth = base.substr(0, base.size() - 6) + ":" + token;
    }
    KP_TRY(note::VerifierKey log_key, read_verifier_key(*log_key_file));
    KP_TRY(WitnessKeys w, witness_keys_of(a));
    const std::vector<note::VerifierKey>& witnesses = w.keys;
    const std::size_t quorum = w.quorum;
    const std::string dir = a.get_or("--state", "knooppunt-monitor");
    KP_GUARD(ensure_dir(dir));
    KP_TRY(audit::MonitorState state, load_state(dir));
    KP_TRY(std::string checkpoint, http_get(url, "checkpoint", auth));
    auto fetch = [&](const std::string& path) -> Result<std::string> {
      KP_TRY(std::string bytes, http_get(url, path, auth));
      auto t = audit::parse_tile_path(path);
      if (t.ok() && t->full()) {
        // The mirror: a full tile never changes.
        std::size_t pos = 0;
        while ((pos = path.find('/', pos)) != std::string::npos)
          (void)ensure_dir(dir + "/" + path.substr(0, pos++));
        (void)write_file_atomic(dir + "/" + path, bytes);
      }
      return bytes;
    };
    KP_TRY(f, audit::monitor_step(state, checkpoint, log_key, witnesses, quorum, fetch));
    if (f.exit_code == 0) KP_GUARD(save_state(dir, state));
    return ok_status();
  };
  Status s = run();
  if (!s.ok()) {
    std::cout << "knooppunt-monitor: failed: " << s.error().message() << "\n";
    return s.error().code == "usage" ? kExitUsage : kExitRefused;
  }
  std::cout << "knooppunt-monitor: " << f.kind << ": " << f.detail << "\n";
  return f.exit_code;
}

}  // namespace kp::cli
