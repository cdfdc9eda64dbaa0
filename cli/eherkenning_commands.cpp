// `knooppunt eherkenning metadata`: our SAML SP metadata for the broker.
#include <iostream>

#include "cli/context.h"
#include "cli/handlers.h"
#include "common/settings.h"
#include "gateway/saml_sp.h"

namespace kp::cli {

int cmd_eherkenning_metadata(const Args& a) {
  auto run = [&]() -> Status {
    KP_TRY(DataDir d, data_dir_of(a));
    KP_TRY(Settings s, load_settings(d.settings()));
    KP_TRY(gateway::SamlSpConfig c, gateway::saml_sp_config(d, s));
    KP_TRY(std::string xml, gateway::sp_metadata(c));
    std::cout << xml;
    return ok_status();
  };
  Status s = run();
  return s.ok() ? kExitOk : fail(s.error());
}

}  // namespace kp::cli
