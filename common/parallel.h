// Lending threads to a loop of independent steps.
//
// A component that can use a second core for a moment (the age Decryptor
// opening the STREAM chunks of one read in parallel) takes a Parallel; the
// owner of the threads (the package reader's FileFanout, which also hashes
// on its helper thread) implements it. The caller's thread always takes
// part, so run() never waits for a helper that is busy elsewhere: what the
// helper does not pick up, the caller does itself.
#pragma once

#include <cstddef>
#include <functional>

namespace kp {

class Parallel {
 public:
  virtual ~Parallel() = default;

  // How many threads may run steps at once (the caller's included): the
  // `worker` a step is given is below this, and no two steps running at
  // the same time have the same one (so per-worker state needs no lock).
  virtual std::size_t width() const = 0;

  // Runs step(i, worker) once for every i in [0, n), in any order and on
  // any of the threads, and returns when all of them have returned. Steps
  // must not throw. n == 0 returns at once.
  using Step = std::function<void(std::size_t i, std::size_t worker)>;
  virtual void run(std::size_t n, const Step& step) = 0;
};

}  // namespace kp
