// The hook slot, empty unless a test build fills it; see test_hooks.h.
#include "workers/test_hooks.h"

namespace kp::workers {

ParserHook g_parser_hook = nullptr;

}  // namespace kp::workers
