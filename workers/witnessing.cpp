// Asking witnesses for cosignatures and writing the tiles; see witnessing.h.
#include "workers/witnessing.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

#include <sstream>

#include "audit/log.h"
#include "audit/tiles.h"
#include "audit/witness.h"
#include "common/atomic_file.h"
#include "common/log.h"
#include "keys/cosignature.h"
#include "store/transfer_log.h"

namespace kp::workers {

namespace {

constexpr std::size_t kMaxReplyBytes = 64 * 1024;

struct Witness {
  std::string url;  // the submission prefix
  note::VerifierKey key;
};

Result<Witness> parse_witness(const std::string& item) {
  const std::size_t sp = item.find(' ');
  Witness w;
  w.url = item.substr(0, sp);
  while (!w.url.empty() && w.url.back() == '/') w.url.pop_back();
  KP_TRY(w.key, note::parse_verifier_key(item.substr(item.find_first_not_of(' ', sp))));
  KP_ENSURE(w.key.alg == note::kAlgCosignatureV1, "key-malformed",
            "witness key of " + w.url + " is not a tlog-cosignature key (type 0x04)");
  return w;
}

struct HttpReply {
  int status = 0;
  std::string body;
};

Result<HttpReply> post(const std::string& url, const std::string& body) {
  try {
    Poco::URI uri(url + "/add-checkpoint");
    Poco::Net::HTTPClientSession session(uri.getHost(), uri.getPort());
    session.setTimeout(Poco::Timespan(5, 0));
    Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_POST, uri.getPathAndQuery(),
                               Poco::Net::HTTPMessage::HTTP_1_1);
    req.setContentLength(static_cast<std::streamsize>(body.size()));
    req.setContentType("text/plain");
    session.sendRequest(req) << body;
    Poco::Net::HTTPResponse resp;
    std::istream& in = session.receiveResponse(resp);
    HttpReply r;
    r.status = resp.getStatus();
    r.body.resize(kMaxReplyBytes + 1);
    in.read(r.body.data(), static_cast<std::streamsize>(r.body.size()));
    r.body.resize(static_cast<std::size_t>(in.gcount()));
    KP_ENSURE(r.body.size() <= kMaxReplyBytes, "witness-unreachable",
              url + " answered more than 64 KiB");
    return r;
  } catch (const Poco::Exception& e) {
    return make_error("witness-unreachable", url + ": " + e.displayText());
  }
}

class StoreSource final : public merkle::HashSource {
 public:
  explicit StoreSource(store::Db& db) : db_(db) {}
  Result<merkle::Hash> perfect(unsigned level, uint64_t index) override {
    return store::tree_node(db_, level, index);
  }

 private:
  store::Db& db_;
};

// One witness, one checkpoint: at most two requests (the second after a 409
// that told us the witness's size). Returns the cosignature line.
Result<std::string> ask(store::Db& db, const Witness& w, const store::StoredCheckpoint& cp) {
  const std::string name = w.key.name;
  KP_TRY(uint64_t old_size, store::witness_size(db, name));
  for (int attempt = 0; attempt < 2; ++attempt) {
    witness::AddCheckpoint req;
    req.old_size = old_size <= cp.size ? old_size : 0;
    StoreSource src(db);
    KP_TRY(req.proof, merkle::consistency_proof(src, req.old_size, cp.size));
    req.checkpoint = cp.note;
    KP_TRY(HttpReply r, post(w.url, witness::format_add_checkpoint(req)));
    if (r.status == 409 && attempt == 0 && !r.body.empty() && r.body.back() == '\n' &&
        r.body.size() <= 21 && r.body.find_first_not_of("0123456789\n") == std::string::npos) {
      const uint64_t theirs = std::stoull(r.body);
      if (theirs != req.old_size && theirs <= cp.size) {
        old_size = theirs;
        continue;
      }
    }
    std::string why = r.body.substr(0, r.body.find('\n'));
    KP_ENSURE(r.status == 200, "witness-refused",
              name + " refused checkpoint " + std::to_string(cp.size) + " (HTTP " +
                  std::to_string(r.status) + "): " + why);
    // Keep only the lines that verify as this witness's cosignature.
    std::string line;
    for (std::size_t pos = 0; pos < r.body.size();) {
      std::size_t nl = r.body.find('\n', pos);
      if (nl == std::string::npos) break;
      std::string candidate = r.body.substr(pos, nl + 1 - pos);
      pos = nl + 1;
      if (cosig::verify(cp.note + candidate, w.key).ok()) line = candidate;
    }
    KP_ENSURE(!line.empty(), "witness-refused", name + " answered without a valid cosignature");
    KP_GUARD(store::set_witness_size(db, name, cp.size));
    return line;
  }
  return make_error("witness-refused", name + " keeps naming another size");
}

}  // namespace

Status publish_log(store::Db& db, const DataDir& data, const Settings& settings) {
  KP_TRY(auto latest, store::latest_checkpoint(db));
  if (!latest) return ok_status();
  KP_TRY(auto have, store::cosignatures_of(db, latest->size));
  for (const std::string& item : settings.witnesses) {
    auto w = parse_witness(item);
    if (!w.ok()) {
      log::event("witness.misconfigured",
                 {{"witness", item.substr(0, item.find(' '))}, {"error", w.error().message()}});
      continue;
    }
    bool done = false;
    for (const auto& line : have) done = done || cosig::verify(latest->note + line, w->key).ok();
    if (done) continue;
    auto line = ask(db, *w, *latest);
    if (!line.ok()) {
      log::event(
          line.error().code == "witness-unreachable" ? "witness.unreachable" : "witness.refused",
          {{"witness", w->key.name},
           {"size", std::to_string(latest->size)},
           {"error", line.error().message()}});
      continue;
    }
    KP_GUARD(store::insert_cosignature(db, latest->size, w->key.name, *line));
    log::event("witness.cosigned",
               {{"witness", w->key.name}, {"size", std::to_string(latest->size)}});
  }
  KP_TRY(auto lines, store::cosignatures_of(db, latest->size));
  std::string note = latest->note;
  for (const auto& l : lines) note += l;
  KP_GUARD(audit::write_tiles(db, data.audit() + "/log", latest->size, note));
  return write_file_atomic(data.audit() + "/checkpoint", note);
}

}  // namespace kp::workers
