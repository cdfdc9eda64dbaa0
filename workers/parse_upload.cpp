// Opening an upload in the parser child; see parse_upload.h.
#include "workers/parse_upload.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>

#include "common/atomic_file.h"
#include "common/handles.h"
#include "common/log.h"

namespace kp::workers {

namespace {

// The extra entries as an anonymous in-memory file for the child.
Result<Fd> extras_file(const std::vector<parser::Extra>& extras) {
  const std::vector<uint8_t> bytes = parser::encode_extras(extras);
  KP_ENSURE(bytes.size() <= parser::kMaxExtras, "io-failed", "the published manifest is too large");
  Fd fd(::memfd_create("knooppunt-extras", MFD_CLOEXEC));
  KP_ENSURE(fd.valid(), "io-failed", "cannot create the extras file");
  KP_GUARD(write_all(fd.get(), std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()),
                     "the extras file"));
  KP_ENSURE(::lseek(fd.get(), 0, SEEK_SET) == 0, "io-failed", "cannot rewind the extras file");
  return fd;
}

}  // namespace

Result<Result<OpenedPackage>> parse_upload(IntakeContext& ctx, int in, uint64_t size, const std::string& what,
                                           std::optional<age::OpenedHeader>* opened, const Reseal* reseal) {
  using Verdict = Result<OpenedPackage>;
  if (size == 0) return Verdict(make_error("upload-empty", "the upload is empty"));
  std::vector<const age::Identity*> ids;
  for (const auto& id : ctx.identities) ids.push_back(&id);
  uint64_t at = 0;
  auto source = [in, &at](uint8_t* buf, std::size_t cap) -> Result<std::size_t> {
    for (;;) {
      const ssize_t n = ::pread(in, buf, cap, static_cast<off_t>(at));
      if (n < 0 && errno == EINTR) continue;
      KP_ENSURE(n >= 0, "io-failed", "cannot read the upload");
      at += static_cast<uint64_t>(n);
      return static_cast<std::size_t>(n);
    }
  };
  auto header = age::open_header(source, ids);
  if (!header.ok()) {
    if (header.error().code == "io-failed") return header.error();
    return Verdict(header.error());
  }
  KP_ENSURE(ctx.parser, "parser-unavailable", "no parser zygote");  // defensive
  parser::Job job;
  job.payload_key = std::move(header->payload_key);
  job.header_bytes = header->payload_offset;
  job.payload_offset = header->payload_offset;
  job.timeout_ms = ctx.parser_timeout_ms;
  job.rules = ctx.rules;
  Fd extras;
  if (reseal) {
    job.reseal_to = reseal->to;
    KP_TRY(extras, extras_file(reseal->extras));
  }
  if (opened) *opened = std::move(*header);
  KP_TRY(parser::Answer answer,
         ctx.parser->parse(job, in, reseal ? reseal->output : -1, reseal ? extras.get() : -1));
  if (!answer.note.empty()) log::event("intake.parser_note", {{"upload", what}, {"note", answer.note}});
  if (answer.rejection) {
    if (answer.rejection->code.starts_with("package-parser-"))
      log::event("intake.parser_failed", {{"upload", what},
                                          {"reason", answer.rejection->code},
                                          {"detail", answer.rejection->detail}});
    return Verdict(*answer.rejection);
  }
  return Verdict(std::move(answer.package));
}

}  // namespace kp::workers
