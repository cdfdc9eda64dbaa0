// Asking the person at the terminal for a secret (a key's password).
#pragma once

#include <string>

#include "common/handles.h"
#include "common/result.h"

namespace kp::cli {

// Prints `prompt` on /dev/tty and reads one line with echo off. Error
// "password-needed" when there is no terminal (give --password-file).
Result<SecretBytes> read_password_from_terminal(const std::string& prompt);

}  // namespace kp::cli
