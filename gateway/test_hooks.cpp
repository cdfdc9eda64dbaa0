// The test hooks' registry: null pointers, set only by tests/hooks/ sources
// linked into `knooppunt-test`; see test_hooks.h.
#include "gateway/test_hooks.h"

namespace kp::gateway::test_hooks {

HttpRoute http_route = nullptr;

}  // namespace kp::gateway::test_hooks
