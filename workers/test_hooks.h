// Where test-only code plugs into the intake worker's parser child. The
// slot is null in the `knooppunt` binary: the code lives in tests/hooks/ and
// is linked only into `knooppunt-test` (CMake option KP_TEST_HOOKS), which
// sets it from a static initialiser (as gateway/test_hooks.h does for the
// session child).
#pragma once

#include <string>

namespace kp::workers {

// What a hook inside the parser child may aim at.
struct ParserHookContext {
  std::string data_root;  // the worker's data directory (a path: the child can open nothing)
  int upload_fd = -1;     // the descriptors the child was given
  int answer_fd = -1;
};

// Runs in the parser child after it entered the sandbox and before it
// parses; what it returns is sent back as the answer's note, which the
// worker logs (event intake.parser_note).
using ParserHook = std::string (*)(const ParserHookContext& c);
extern ParserHook g_parser_hook;

}  // namespace kp::workers
