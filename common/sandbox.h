// Kernel-enforced confinement for the processes that handle hostile bytes:
// the SSH/SFTP session child, the HTTP process and the package parser
// child. Shared by the gateway and the workers, so it lives below both.
//
// enter() is one-way and runs, in this order: the uid/gid switch to a
// dedicated system user (root only; a non-root developer keeps their uid and
// the report says the switch was skipped), dropping every capability
// (effective, permitted, inheritable, ambient and the bounding set),
// PR_SET_NO_NEW_PRIVS, Landlock with every file-system right handled and
// none granted (no path can be opened, created, removed, renamed, linked or
// executed; descriptors already open keep working), and last a seccomp-bpf
// allow-list (libseccomp). The allow-list holds what libssh, OpenSSL,
// SQLite reads on open handles, Poco and glibc need on descriptors they
// already hold; open/openat/openat2, execve/execveat, socket/connect,
// ptrace, mount and the like answer EACCES (so library code fails cleanly
// and the test hooks can observe the refusal), and any other syscall not on
// the list kills the process (SIGSYS). The lists themselves are in
// sandbox.cpp, one table per treatment.
//
// A kernel without Landlock (or with it disabled at boot) makes enter()
// fail with "sandbox-failed": there is no silent downgrade to seccomp alone.
//
// Threads: call enter() before starting threads (Poco's server starts its
// own after). Capabilities and Landlock bind only the calling thread, so
// enter() refuses to run in a process that already has more than one; the
// seccomp filter is loaded with TSYNC all the same, and threads created
// afterwards inherit everything.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace kp::sandbox {

// The system users `init` creates when run as root.
// SSH session children, the HTTP process, parser children:
inline constexpr const char* kSessionUser = "knooppunt-session";
// Owns the private keys:
inline constexpr const char* kWorkerUser = "knooppunt-worker";

enum class Profile {
  session,  // SSH/SFTP child: sockets it holds, passed descriptors, sendmsg/recvmsg to the monitor
  http,     // Poco HTTP server: also accept4 on its listening socket, threads
  parser,   // package parser child: read its input, write its outputs and the answer pipe
};

struct Identity {
  uid_t uid = 0;
  gid_t gid = 0;
  std::string name;
};

// The system user `name`, or nothing when it does not exist. Error
// "user-lookup-failed" only when the lookup itself fails.
Result<std::optional<Identity>> lookup_user(const std::string& name);

// As root: creates kSessionUser and kWorkerUser as system users (no home,
// no login shell) when missing. Not root: does nothing. Error
// "user-create-failed" naming the user.
Status ensure_system_users();

struct Report {
  bool uid_switched = false;  // false when not root or `as` was empty
  int landlock_abi = 0;       // 0: the kernel has no Landlock (then refused, see enter)
};

// Confines the calling process for good (see the file comment). `as` is the
// user to switch to (ignored when not root; required when root, and never
// uid or gid 0). The process must be single-threaded and /proc mounted.
// Errors: "sandbox-failed" with the step that failed; a process that gets
// an error may be half confined and must not go on serving hostile input.
Result<Report> enter(Profile profile, const std::optional<Identity>& as);

// For the monitor of a session before authentication and for any process
// that must keep opening files: NO_NEW_PRIVS and a seccomp filter (TSYNC)
// that refuses (EACCES) execve/execveat, ptrace, process_vm_*, mount,
// kernel-module, kexec, bpf, key-ring, perf, userfaultfd, personality and
// namespace calls (unshare, setns, clone with a CLONE_NEW* flag; clone3
// answers ENOSYS so glibc falls back to clone), and allows everything else.
// Errors: "sandbox-failed" with the step. Programs can no longer be run
// afterwards (ensure_system_users included).
Status deny_exec_and_escape();

// What /proc/self/status says of this process (for logs and tests):
// "Uid=<real uid> CapEff=<hex> NoNewPrivs=<0|1> Seccomp=<0|1|2>". It opens
// that file, so it only works where opening is allowed (not after enter():
// there every field reads "?", as it does when /proc is not mounted).
std::string status_line();

// Closes every descriptor of this process but `keep` (negative entries are
// ignored): a child forked from a process that held the store, directories
// or a listening socket starts with none of them. Call it before enter().
void close_all_but(std::vector<int> keep);

// Unmaps every file mapping of this process whose path starts with
// `prefix` (read from /proc/self/maps, so call it before enter()). A child
// forked from a process that used the store inherits SQLite's shared
// mapping of the -shm (read-write): closing descriptors does not end it,
// and neither seccomp nor Landlock stops writes through it. Error
// "sandbox-failed" when the map cannot be read or a mapping stays.
Status unmap_files_under(const std::string& prefix);

}  // namespace kp::sandbox
