#include "cli/handlers.h"
#include "cli/context.h"
namespace kp::cli {
int cmd_serve(const Args&) { return fail(make_error("not-implemented", "serve")); }
}
