// Auditor web tokens; see web_token.h.
#include "gateway/web_token.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/handles.h"

namespace kp::gateway {

namespace {

// A domain-separation key: the same secret used elsewhere gives another hash.
constexpr std::string_view kContext = "knooppunt auditor web token v1";

}  // namespace

Status check_token_strength(std::string_view token) {
  KP_ENSURE(token.size() >= kMinTokenChars, "token-too-short",
            "the token has " + std::to_string(token.size()) + " characters; at least " +
                std::to_string(kMinTokenChars) + " are needed (e.g. `openssl rand -hex 32`)");
  KP_ENSURE(token.size() <= kMaxTokenChars, "token-too-long",
            "the token has more than " + std::to_string(kMaxTokenChars) + " characters");
  for (char c : token)
    KP_ENSURE(c > 0x20 && c < 0x7f, "token-invalid",
              "the token may hold only printable ASCII without spaces");
  return ok_status();
}

Result<std::string> read_token_file(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  KP_ENSURE(fd.valid(), "file-unreadable", "cannot read " + path);
  struct stat st {};
  KP_ENSURE(::fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode), "file-unreadable",
            path + " is not a file");
  KP_ENSURE((st.st_mode & (S_IRGRP | S_IROTH)) == 0, "token-file-exposed",
            path + " is readable by group or others; chmod 600 it (it holds a secret)");
  std::string text(kMaxTokenChars + 2, '\0');
  std::size_t got = 0;
  while (got < text.size()) {  // a longer file reads as too long a token
    ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
    KP_ENSURE(n >= 0, "file-unreadable", "cannot read " + path);
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  text.resize(got);
  if (!text.empty() && text.back() == '\n') text.pop_back();
  if (!text.empty() && text.back() == '\r') text.pop_back();
  KP_GUARD(check_token_strength(text));
  return text;
}

store::TokenHash hash_token(std::string_view token) {
  store::TokenHash out{};
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, out.size());
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(kContext.data()),
                            kContext.size());
  unsigned char zero = 0;  // separates the context from the token
  crypto_generichash_update(&st, &zero, 1);
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(token.data()),
                            token.size());
  crypto_generichash_final(&st, out.data(), out.size());
  return out;
}

bool token_matches(std::string_view token, const store::TokenHash& stored) {
  store::TokenHash h = hash_token(token);
  return sodium_memcmp(h.data(), stored.data(), h.size()) == 0;
}

}  // namespace kp::gateway
