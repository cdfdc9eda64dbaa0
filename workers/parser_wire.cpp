// The parser job and answer formats; see parser_wire.h.
#include "workers/parser_wire.h"

#include <sodium.h>

#include <cstring>

#include "common/bytes.h"
#include "common/digest.h"
#include "common/utf8.h"

namespace kp::workers::parser {

namespace {

constexpr uint32_t kJobMagic = 0x4b504a31;     // "KPJ1"
constexpr uint32_t kAnswerMagic = 0x4b504131;  // "KPA1"

// Rules travel whole, so the child applies exactly the worker's.
void write_rules(Writer& w, const policy::PackageRules& r) {
  w.u64(r.max_package_bytes);
  w.u64(r.max_unpacked_bytes);
  w.u32(r.max_entries);
  w.u32(r.max_name_bytes);
  uint64_t ratio_bits = 0;
  static_assert(sizeof ratio_bits == sizeof r.max_compression_ratio);
  std::memcpy(&ratio_bits, &r.max_compression_ratio, sizeof ratio_bits);
  w.u64(ratio_bits);
  w.u64(r.ratio_grace_bytes);
  w.u64(r.max_manifest_bytes);
  w.u64(r.max_signature_bytes);
  w.u32(static_cast<uint32_t>(r.allowed_extensions.size()));
  for (const auto& e : r.allowed_extensions) w.str(e);
}

bool read_rules(Reader& rd, policy::PackageRules& r) {
  r.max_package_bytes = rd.u64();
  r.max_unpacked_bytes = rd.u64();
  r.max_entries = rd.u32();
  r.max_name_bytes = rd.u32();
  uint64_t ratio_bits = rd.u64();
  std::memcpy(&r.max_compression_ratio, &ratio_bits, sizeof ratio_bits);
  r.ratio_grace_bytes = rd.u64();
  r.max_manifest_bytes = rd.u64();
  r.max_signature_bytes = rd.u64();
  const uint32_t n = rd.u32();
  if (!rd.ok() || n > kMaxExtensions) return false;
  r.allowed_extensions.clear();
  for (uint32_t i = 0; i < n && rd.ok(); ++i) r.allowed_extensions.emplace_back(rd.str(16));
  return rd.ok() && check_package_rules(r).ok();
}

// The reason codes open_payload() can produce: the age layer's, the package
// rules', and the tar reader's. A child that names anything else (an
// "accepted", a code of the worker's own) is not believed.
bool plausible_code(std::string_view c) {
  if (c.empty() || c.size() > kMaxCode) return false;
  for (char ch : c)
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-')) return false;
  if (c.starts_with("package-parser-")) return false;  // the worker's own verdicts on the child
  return c.starts_with("age-") || c.starts_with("package-") || c == "manifest-too-large" ||
         c == "signature-malformed" || c == "io-failed" || c == "crypto-failed" || c == "crypto-init-failed";
}

}  // namespace

std::vector<uint8_t> encode_job(const Job& job) {
  std::vector<uint8_t> out;
  Writer w(out);
  w.u32(kJobMagic);
  w.raw(job.payload_key.data(), job.payload_key.size());
  w.u64(job.header_bytes);
  w.u64(job.payload_offset);
  w.u32(job.timeout_ms);
  write_rules(w, job.rules);
  w.u32(static_cast<uint32_t>(job.reseal_to.size()));
  for (const auto& pk : job.reseal_to) w.raw(pk.data(), pk.size());
  return out;
}

Result<Job> decode_job(std::span<const uint8_t> bytes) {
  Reader rd(bytes.data(), bytes.size());
  Job job;
  const bool magic = rd.u32() == kJobMagic;
  std::string_view key = rd.raw(age::kPayloadKeySize);
  KP_ENSURE(rd.ok() && magic, "parser-bad-job", "not a parser job");
  job.payload_key = SecretBytes(age::kPayloadKeySize);
  KP_ENSURE(job.payload_key.valid(), "parser-bad-job", "cannot allocate secure memory");
  std::memcpy(job.payload_key.data(), key.data(), key.size());
  job.header_bytes = rd.u64();
  job.payload_offset = rd.u64();
  job.timeout_ms = rd.u32();
  KP_ENSURE(read_rules(rd, job.rules), "parser-bad-job", "bad package rules");
  const uint32_t n = rd.u32();
  KP_ENSURE(rd.ok() && n <= kMaxRecipients, "parser-bad-job", "too many recipients");
  for (uint32_t i = 0; i < n; ++i) {
    std::string_view pk = rd.raw(32);
    if (!rd.ok()) break;
    age::PublicKey k{};
    std::memcpy(k.data(), pk.data(), k.size());
    job.reseal_to.push_back(k);
  }
  KP_ENSURE(rd.at_end(), "parser-bad-job", "truncated job or trailing bytes");
  return job;
}

std::vector<uint8_t> encode_extras(const std::vector<Extra>& extras) {
  std::vector<uint8_t> out;
  Writer w(out);
  w.u32(static_cast<uint32_t>(extras.size()));
  for (const auto& e : extras) {
    w.str(e.name);
    w.str(e.bytes);
  }
  return out;
}

Result<std::vector<Extra>> decode_extras(std::span<const uint8_t> bytes) {
  Reader rd(bytes.data(), bytes.size());
  std::vector<Extra> out;
  const uint32_t n = rd.u32();
  KP_ENSURE(rd.ok() && n <= 16, "parser-bad-job", "too many extra entries");
  for (uint32_t i = 0; i < n && rd.ok(); ++i) {
    Extra e;
    e.name = std::string(rd.str(256));
    e.bytes = std::string(rd.str(kMaxExtras));
    out.push_back(std::move(e));
  }
  KP_ENSURE(rd.at_end(), "parser-bad-job", "malformed extras");
  return out;
}

std::vector<uint8_t> encode_answer(const Answer& a) {
  std::vector<uint8_t> out;
  Writer w(out);
  w.u32(kAnswerMagic);
  if (a.rejection) {
    w.u8(1);
    w.str(a.rejection->code.substr(0, kMaxCode));
    w.str(a.rejection->detail.substr(0, kMaxDetail));
  } else {
    w.u8(0);
    w.str(a.package.manifest);
    w.str(a.package.signature);
    w.u64(a.package.sealed_bytes);
    w.u32(static_cast<uint32_t>(a.package.files.size()));
    for (const auto& [name, seen] : a.package.files) {
      w.str(name);
      w.u64(seen.size);
      std::string digest;
      if (!from_hex(seen.sha256, digest) || digest.size() != 32) digest.assign(32, '\0');  // defensive
      w.raw(digest);
    }
  }
  w.str(a.note.substr(0, kMaxNote));
  return out;
}

std::size_t max_answer(const policy::PackageRules& rules) {
  const std::size_t per_file = 4 + rules.max_name_bytes + 8 + 32;
  return 4 + 1 + 4 + rules.max_manifest_bytes + 4 + rules.max_signature_bytes + 8 + 4 +
         static_cast<std::size_t>(rules.max_entries) * per_file + 4 + kMaxNote + 4 + kMaxCode + 4 + kMaxDetail;
}

Result<Answer> decode_answer(std::span<const uint8_t> bytes, const policy::PackageRules& rules) {
  auto bad = [](const std::string& what) { return make_error("package-parser-bad-answer", what); };
  Reader rd(bytes.data(), bytes.size());
  Answer a;
  if (rd.u32() != kAnswerMagic || !rd.ok()) return bad("no answer header");
  const uint8_t verdict = rd.u8();
  if (verdict == 1) {
    std::string code(rd.str(kMaxCode));
    std::string detail(rd.str(kMaxDetail));
    if (!rd.ok()) return bad("truncated rejection");
    if (!plausible_code(code)) return bad("implausible reason code");
    if (!is_strict_utf8(detail)) return bad("detail is not UTF-8");
    a.rejection = make_error(code, detail);
  } else if (verdict == 0) {
    a.package.manifest = std::string(rd.str(rules.max_manifest_bytes));
    a.package.signature = std::string(rd.str(rules.max_signature_bytes));
    a.package.sealed_bytes = rd.u64();
    const uint32_t n = rd.u32();
    if (!rd.ok()) return bad("truncated package facts");
    if (a.package.manifest.empty() || a.package.signature.empty()) return bad("manifest or signature missing");
    if (a.package.sealed_bytes > rules.max_package_bytes) return bad("package larger than the rules allow");
    if (n > rules.max_entries) return bad("more files than the rules allow");
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; ++i) {
      std::string name(rd.str(rules.max_name_bytes));
      const uint64_t size = rd.u64();
      std::string_view digest = rd.raw(32);
      if (!rd.ok()) return bad("truncated file list");
      if (policy::check_file_name(name, rules.max_name_bytes) != policy::NameProblem::none)
        return bad("a file name the package rules refuse");
      total += size;
      if (size > rules.max_unpacked_bytes || total > rules.max_unpacked_bytes)
        return bad("files larger than the rules allow");
      Sha256Digest d{};
      std::memcpy(d.data(), digest.data(), d.size());
      if (!a.package.files.emplace(name, SeenFile{size, to_hex(d)}).second) return bad("a file named twice");
    }
  } else {
    return bad("unknown verdict");
  }
  a.note = std::string(rd.str(kMaxNote));
  if (!rd.at_end()) return bad("truncated answer or trailing bytes");
  return a;
}

}  // namespace kp::workers::parser
