// `knooppunt witness`: a C2SP tlog-witness for one knooppunt transfer log,
// run by a party other than the hub's operator (audit/witness.h has the
// protocol). It has its own data directory -- its Ed25519 cosigner key
// (witness.key, 0600; the public half in witness.vkey) and what it last
// cosigned (state) -- and never reads the gateway's: it knows the log only
// by the log's public key (--log-key, `knooppunt keys show`) and what the
// gateway posts to it.
//
//   POST /add-checkpoint   -> 200 cosignature line | 400 | 403 | 404 | 409 | 422
#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <signal.h>
#include <sys/stat.h>

#include <iostream>
#include <mutex>

#include "audit/witness.h"
#include "cli/context.h"
#include "cli/handlers.h"
#include "common/atomic_file.h"
#include "common/base64.h"
#include "common/log.h"
#include "keys/cosignature.h"

namespace kp::cli {

namespace {

struct WitnessCore {
  std::mutex mu;  // check and persist atomically, as the spec asks
  std::string dir;
  note::VerifierKey log_key;
  std::string origin;
  note::SignerKey key;
  std::optional<witness::LogState> state;
};

std::string state_path(const WitnessCore& w) {
  return w.dir + "/state";
}

// "origin\nsize\nbase64 root\n".
Result<std::optional<witness::LogState>> load_state(const std::string& path,
                                                    const std::string& origin) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::optional<witness::LogState>();
  KP_TRY(std::string text, read_small_file(path, 4096));
  std::vector<std::string> lines;
  for (std::size_t pos = 0, nl; (nl = text.find('\n', pos)) != std::string::npos; pos = nl + 1)
    lines.push_back(text.substr(pos, nl - pos));
  KP_ENSURE(lines.size() == 3, "witness-state-damaged", path + " is not origin, size, root");
  KP_ENSURE(lines[0] == origin, "witness-state-damaged",
            path + " is the state of log " + lines[0] + ", not " + origin +
                " (one witness directory per log)");
  witness::LogState s;
  KP_ENSURE(!lines[1].empty() && lines[1].size() < 20 &&
                lines[1].find_first_not_of("0123456789") == std::string::npos,
            "witness-state-damaged", path + ": bad size");
  s.size = std::stoull(lines[1]);
  std::size_t len = 0;
  KP_ENSURE(base64_decode(lines[2], s.root.data(), s.root.size(), len) && len == s.root.size(),
            "witness-state-damaged", path + ": bad root");
  return std::optional<witness::LogState>(s);
}

class Handler : public Poco::Net::HTTPRequestHandler {
 public:
  explicit Handler(WitnessCore& w) : w_(w) {}
  void handleRequest(Poco::Net::HTTPServerRequest& req,
                     Poco::Net::HTTPServerResponse& resp) override {
    try {
      if (req.getURI() != "/add-checkpoint") return send(resp, 404, "text/plain", "not found\n");
      if (req.getMethod() != "POST") return send(resp, 405, "text/plain", "method not allowed\n");
      std::string body(witness::kMaxRequestBytes + 1, '\0');
      req.stream().read(body.data(), static_cast<std::streamsize>(body.size()));
      body.resize(static_cast<std::size_t>(req.stream().gcount()));
      std::lock_guard<std::mutex> lock(w_.mu);
      witness::Reply r = witness::add_checkpoint(body, w_.log_key, w_.origin, w_.state, w_.key,
                                                 static_cast<uint64_t>(log::now_ms() / 1000));
      if (r.new_state) {
        const std::string text = w_.origin + "\n" + std::to_string(r.new_state->size) + "\n" +
                                 base64_encode(r.new_state->root.data(), r.new_state->root.size()) +
                                 "\n";
        Status saved = write_file_atomic(state_path(w_), text);
        if (!saved.ok()) {
          log::event("witness.failed", {{"error", saved.error().message()}});
          return send(resp, 500, "text/plain", "cannot persist the state\n");
        }
        w_.state = r.new_state;
        log::event("witness.cosigned",
                   {{"origin", w_.origin}, {"size", std::to_string(r.new_state->size)}});
      } else {
        log::event("witness.refused", {{"status", std::to_string(r.status)},
                                       {"reason", r.reason},
                                       {"detail", r.body.substr(0, r.body.find('\n'))}});
      }
      send(resp, r.status, r.content_type, r.body);
    } catch (const Poco::Exception& e) {
      log::event("witness.error", {{"error", e.displayText()}});
    }
  }

 private:
  static void send(Poco::Net::HTTPServerResponse& resp, int status, const std::string& type,
                   const std::string& body) {
    resp.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
    resp.setContentType(type);
    resp.setContentLength(static_cast<std::streamsize>(body.size()));
    resp.send() << body;
  }
  WitnessCore& w_;
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit Factory(WitnessCore& w) : w_(w) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new Handler(w_);
  }

 private:
  WitnessCore& w_;
};

// The cosigner key in DIR/witness.key, made on first start.
Result<note::SignerKey> witness_key(const std::string& dir, const std::string& name) {
  const std::string path = dir + "/witness.key";
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    KP_TRY(note::SignerKey fresh, note::generate(name, note::kAlgCosignatureV1));
    KP_TRY(SecretBytes text, note::format_signer_key(fresh));
    KP_GUARD(write_file_atomic(
        path, std::string(reinterpret_cast<const char*>(text.data()), text.size()) + "\n"));
  }
  KP_ENSURE(::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) == 0, "key-file-exposed",
            path + " may be read by others: chmod 600");
  KP_TRY(std::string text, read_small_file(path, 4096));
  auto key = note::parse_signer_key(text);
  sodium_memzero(text.data(), text.size());
  KP_TRY(note::SignerKey k, std::move(key));
  KP_ENSURE(k.alg == note::kAlgCosignatureV1, "key-malformed", path + " is not a cosigner key");
  KP_GUARD(write_file_atomic(dir + "/witness.vkey", note::format_verifier_key(k.verifier()) + "\n",
                             0644));
  return k;
}

}  // namespace

int cmd_witness(const Args& a) {
  auto run = [&]() -> Status {
    WitnessCore w;
    w.dir = *a.get("--data");
    struct stat st {};
    // Its own directory: a witness that shares the gateway's data would
    // share its operator.
    KP_ENSURE(::stat((w.dir + "/knooppunt.conf").c_str(), &st) != 0 &&
                  ::stat((w.dir + "/knooppunt.db").c_str(), &st) != 0,
              "witness-data-is-gateway",
              w.dir + " is a gateway's data directory; a witness needs its own");
    KP_GUARD(ensure_dir(w.dir));
    KP_TRY(std::string vkey, read_small_file(*a.get("--log-key"), 4096));
    KP_TRY(w.log_key, note::parse_verifier_key(vkey));
    KP_ENSURE(w.log_key.alg == note::kAlgEd25519, "key-malformed", "--log-key is not a log key");
    w.origin = a.get_or("--origin", w.log_key.name);
    KP_TRY(w.key, witness_key(w.dir, a.get_or("--name", "knooppunt-witness")));
    KP_TRY(w.state, load_state(state_path(w), w.origin));
    // Block the stop signals before Poco starts threads, then wait for one.
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, nullptr);
    const std::string listen = a.get_or("--listen", "127.0.0.1:7380");
    try {
      Poco::Net::ServerSocket socket;
      socket.bind(Poco::Net::SocketAddress(listen), true, false);
      socket.listen(64);
      auto* params = new Poco::Net::HTTPServerParams;
      params->setMaxThreads(4);
      params->setMaxQueued(16);
      Poco::Net::HTTPServer server(new Factory(w), socket, params);
      server.start();
      log::event("witness.listening", {{"addr", socket.address().toString()},
                                       {"origin", w.origin},
                                       {"key", note::format_verifier_key(w.key.verifier())},
                                       {"size", std::to_string(w.state ? w.state->size : 0)}});
      int sig = 0;
      sigwait(&stop, &sig);
      server.stop();
    } catch (const Poco::Exception& e) {
      return make_error("witness-failed", "cannot serve on " + listen + ": " + e.displayText());
    }
    log::event("witness.stopped", {});
    return ok_status();
  };
  Status s = run();
  return s.ok() ? kExitOk : fail(s.error());
}

}  // namespace kp::cli
