// Resealing: writes a tar archive straight into an age Encryptor whose
// output goes to a file descriptor, so verified package content moves from
// one sealed form to the next without plaintext touching disk.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "keys/age.h"

namespace kp::workers {

// Where open_package sends each file's bytes after checking them.
class EntrySink {
 public:
  virtual ~EntrySink() = default;
  virtual Status begin_entry(const std::string& name, uint64_t size, int64_t mtime) = 0;
  virtual Status write(const void* p, std::size_t n) = 0;
};

class TarSealer : public EntrySink {
 public:
  // Starts a sealed tar on `fd` (not owned) for `recipients`.
  static Result<std::unique_ptr<TarSealer>> create(int fd, const std::vector<age::PublicKey>& recipients);
  ~TarSealer() override;
  TarSealer(const TarSealer&) = delete;
  TarSealer& operator=(const TarSealer&) = delete;

  // A regular file entry of exactly `size` bytes, followed by write() calls.
  Status begin_entry(const std::string& name, uint64_t size, int64_t mtime) override;
  Status write(const void* p, std::size_t n) override;
  // A whole small entry at once.
  Status add(const std::string& name, std::string_view data, int64_t mtime);
  // Closes the tar and the age stream, then fsyncs the file.
  Status finish();

 private:
  TarSealer() = default;
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace kp::workers
