// `knooppunt manifest check` and `manifest init`: what a municipality runs
// before sealing, so a mistake costs no upload and no receipt. The checks
// are the gateway's own (policy/manifest.h); the template is the example of
// docs/formats.md.
#include <fcntl.h>
#include <unistd.h>

#include <iostream>
#include <string>

#include "cli/context.h"
#include "cli/handlers.h"
#include "common/handles.h"
#include "common/log.h"
#include "policy/identifiers.h"
#include "policy/manifest.h"

namespace kp::cli {

Result<std::string> check_manifest_text(const std::string& text) {
  auto signal = policy::parse_manifest(text);
  if (signal.ok())
    return std::string(policy::kSignalFormat) + " (" + std::string(policy::kind_name(signal->kind)) + ") with " +
           std::to_string(signal->files.size()) + " file(s)";
  if (signal.error().code != "manifest-format-unknown") return signal.error();
  auto hub = policy::parse_hub_manifest(text);
  if (!hub.ok()) {
    if (hub.error().code == "manifest-format-unknown")
      return make_error("manifest-format-unknown", "format must be knooppunt-signal/1, knooppunt-sip/1 or "
                                                   "knooppunt-request/1");
    return hub.error();
  }
  return std::string(hub->kind == policy::HubKind::sip ? policy::kSipFormat : policy::kRequestFormat) + " with " +
         std::to_string(hub->files.size()) + " file(s)";
}

int cmd_manifest_check(const Args& a) {
  auto text = read_small_file(a.positional[0], 1 << 20);
  if (!text.ok()) return fail(text.error());
  auto checked = check_manifest_text(*text);
  if (!checked.ok()) return fail(checked.error());
  std::cout << a.positional[0] << ": valid " << *checked << "\n";
  return kExitOk;
}

int cmd_manifest_init(const Args& a) {
  const std::string municipality = a.get_or("--municipality", "GM0363");
  const std::string submitter = a.get_or("--submitted-by", "j.jansen");
  if (!policy::valid_municipality_code(municipality))
    return fail(make_error("usage", "--municipality must be GM followed by 4 digits"));
  if (!policy::valid_account_id(submitter))
    return fail(make_error("usage", "--submitted-by must be an account name"));
  const std::string text = std::string("{\n") +
                           "  \"format\": \"knooppunt-signal/1\",\n"
                           "  \"kind\": \"signal\",\n"
                           "  \"municipality\": \"" + municipality + "\",\n"
                           "  \"submitted_by\": \"" + submitter + "\",\n"
                           "  \"created\": \"" + log::format_iso8601(log::now_ms()).substr(0, 19) + "Z\",\n"
                           "  \"provider\": {\"kvk\": \"12345678\", \"agb\": \"01234567\", \"name\": \"Zorg BV\"},\n"
                           "  \"domain\": \"Wmo\",\n"
                           "  \"period\": {\"from\": \"2026-01-01\", \"until\": \"2026-06-30\"},\n"
                           "  \"irregularity\": \"care billed but not delivered\",\n"
                           "  \"estimated_damage_eur\": 125000,\n"
                           "  \"clients_affected\": 14,\n"
                           "  \"health_risk\": \"high\",\n"
                           "  \"summary\": \"Describe the signal here.\",\n"
                           "  \"bsns\": [],\n"
                           "  \"files\": []\n"
                           "}\n";
  auto out = a.get("-o");
  if (!out) {
    std::cout << text;
    return kExitOk;
  }
  Fd fd(::open(out->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd.valid()) return fail(make_error("io-failed", "cannot create " + *out + " (it must not exist)"));
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    return fail(make_error("io-failed", "cannot write " + *out));
  std::cout << "wrote " << *out << ": fill in the signal; `knooppunt seal` fills in files\n";
  return kExitOk;
}

}  // namespace kp::cli
