// The confinement steps behind common/sandbox.h, in the order they must run.
//
// Order matters and is not the order one would first write down:
//   1. the capability bounding set is dropped while still root, because
//      PR_CAPBSET_DROP needs CAP_SETPCAP, which the uid switch takes away;
//   2. the uid/gid switch (setgroups, setresgid, setresuid, then read back);
//   3. effective, permitted and inheritable capabilities are zeroed with the
//      raw capset syscall (no libcap) and read back, the ambient set cleared;
//   4. PR_SET_NO_NEW_PRIVS, which Landlock and seccomp both require of an
//      unprivileged process;
//   5. Landlock: a ruleset that handles every right the running kernel's ABI
//      knows (file system, TCP bind/connect, abstract-unix and signal scopes)
//      with no rule added, so nothing handled is granted;
//   6. seccomp last, because steps 1-5 make system calls the filter refuses.
//
// Debian 12's <linux/landlock.h> predates ABI 3, so the rights and the
// ruleset layout the kernel understands up to ABI 7 are spelt out here.
// Landlock rights are checked when a file is opened, so descriptors opened
// before enter() keep every right they had (ftruncate, device ioctls).
//
// The seccomp filter is built from tables (one per kind of treatment) so the
// allow-list can be read, and reviewed, in one place. Syscalls whose
// arguments matter get an allow rule for the safe values and an explicit
// refusal for every other value; anything not named kills the process.
#include "common/sandbox.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/landlock.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <algorithm>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <string_view>
#include <vector>

#include "common/handles.h"

namespace kp::sandbox {

namespace {

Error failed(std::string_view step, int err) {
  return make_error("sandbox-failed", std::string(step) + ": " + std::strerror(err));
}

// ---------------------------------------------------------------------------
// /proc/self/status

// The whole of /proc/self/status (a few KiB), or "" when it cannot be read.
std::string read_proc_status() {
  Fd fd(::open("/proc/self/status", O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return {};
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;
    }
  }
  return out;
}

// The first value of the line "key:\t..." in `status`, or "?" when absent.
std::string status_field(const std::string& status, std::string_view key) {
  const std::string needle = std::string(key) + ":";
  std::size_t at = 0;
  while (at < status.size()) {
    const std::size_t eol = status.find('\n', at);
    const std::size_t end = eol == std::string::npos ? status.size() : eol;
    if (status.compare(at, needle.size(), needle) == 0) {
      std::size_t b = at + needle.size();
      while (b < end && (status[b] == ' ' || status[b] == '\t')) ++b;
      std::size_t e = b;
      while (e < end && status[e] != ' ' && status[e] != '\t') ++e;
      return e > b ? status.substr(b, e - b) : "?";
    }
    at = end + 1;
  }
  return "?";
}

// ---------------------------------------------------------------------------
// Identity and capabilities

// Drops every capability from the bounding set, so no later execve could
// grant one back. Stops at the first number the kernel does not know
// (EINVAL). Without CAP_SETPCAP the kernel answers EPERM: `must_succeed` is
// false for a non-root caller, who holds nothing the bounding set guards
// and cannot execve once the filter is on.
Status drop_bounding_set(bool must_succeed) {
  for (int cap = 0; cap < 64; ++cap) {
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0) continue;
    if (errno == EINVAL) return ok_status();  // past the kernel's last capability
    if (errno == EPERM && !must_succeed) return ok_status();
    return failed("drop bounding set", errno);
  }
  return ok_status();
}

// Switches to `id` for good: supplementary groups, then gid, then uid (the
// uid last, since it takes away the right to change the others), and reads
// the result back. Requires root.
Status switch_user(const Identity& id) {
  KP_ENSURE(id.uid != 0 && id.gid != 0, "sandbox-failed",
            "switch user: refusing to switch to uid or gid 0 (" + id.name + ")");
  if (::setgroups(1, &id.gid) != 0) return failed("setgroups", errno);
  if (::setresgid(id.gid, id.gid, id.gid) != 0) return failed("setresgid", errno);
  if (::setresuid(id.uid, id.uid, id.uid) != 0) return failed("setresuid", errno);
  uid_t ru, eu, su;
  gid_t rg, eg, sg;
  if (::getresuid(&ru, &eu, &su) != 0) return failed("getresuid", errno);
  if (::getresgid(&rg, &eg, &sg) != 0) return failed("getresgid", errno);
  KP_ENSURE(ru == id.uid && eu == id.uid && su == id.uid, "sandbox-failed",
            "switch user: uids did not change to " + id.name);
  KP_ENSURE(rg == id.gid && eg == id.gid && sg == id.gid, "sandbox-failed",
            "switch user: gids did not change to " + id.name);
  // Defensive: the way back to root must be closed.
  KP_ENSURE(::setresuid(0, 0, 0) != 0, "sandbox-failed", "switch user: could become root again");
  return ok_status();
}

// Zeroes the effective, permitted and inheritable sets (raw capset, version
// 3: two 32-bit words each), reads them back, and clears the ambient set.
Status drop_capabilities() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capset, &header, data) != 0) return failed("capset", errno);
  __user_cap_data_struct back[2] = {};
  header = {_LINUX_CAPABILITY_VERSION_3, 0};
  if (::syscall(SYS_capget, &header, back) != 0) return failed("capget", errno);
  for (const auto& d : back)
    KP_ENSURE(d.effective == 0 && d.permitted == 0 && d.inheritable == 0, "sandbox-failed",
              "capset: capabilities still held");
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0)
    return failed("clear ambient capabilities", errno);
  return ok_status();
}

// ---------------------------------------------------------------------------
// Landlock (raw syscalls; the rights per ABI version)

constexpr std::uint64_t kFsAbi1 = (1ULL << 13) - 1;            // EXECUTE .. MAKE_SYM
constexpr std::uint64_t kFsRefer = 1ULL << 13;                 // ABI 2
constexpr std::uint64_t kFsTruncate = 1ULL << 14;              // ABI 3
constexpr std::uint64_t kFsIoctlDev = 1ULL << 15;              // ABI 5
constexpr std::uint64_t kNetBindTcp = 1ULL << 0;               // ABI 4
constexpr std::uint64_t kNetConnectTcp = 1ULL << 1;            // ABI 4
constexpr std::uint64_t kScopeAbstractUnixSocket = 1ULL << 0;  // ABI 6
constexpr std::uint64_t kScopeSignal = 1ULL << 1;              // ABI 6

// struct landlock_ruleset_attr as of ABI 6; older kernels are given a
// prefix of it (the kernel takes the size as the version of the layout).
struct RulesetAttr {
  std::uint64_t handled_access_fs = 0;
  std::uint64_t handled_access_net = 0;
  std::uint64_t scoped = 0;
};

// Creates a ruleset handling everything `abi` knows, adds no rule, and
// restricts the calling thread with it. Returns the ABI. A kernel without
// Landlock (ENOSYS) or with it disabled at boot (EOPNOTSUPP) is a failure:
// the file-system confinement is part of the contract, not a bonus.
Result<int> restrict_with_landlock() {
  const long abi =
      ::syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  if (abi < 0) return failed("landlock (the kernel offers none)", errno);
  KP_ENSURE(abi >= 1, "sandbox-failed", "landlock: no ABI version");
  RulesetAttr attr;
  std::size_t size = sizeof attr.handled_access_fs;
  attr.handled_access_fs = kFsAbi1;
  if (abi >= 2) attr.handled_access_fs |= kFsRefer;
  if (abi >= 3) attr.handled_access_fs |= kFsTruncate;
  if (abi >= 5) attr.handled_access_fs |= kFsIoctlDev;
  if (abi >= 4) {
    attr.handled_access_net = kNetBindTcp | kNetConnectTcp;
    size = offsetof(RulesetAttr, scoped);
  }
  if (abi >= 6) {
    attr.scoped = kScopeAbstractUnixSocket | kScopeSignal;
    size = sizeof attr;
  }
  Fd ruleset(static_cast<int>(::syscall(SYS_landlock_create_ruleset, &attr, size, 0)));
  if (!ruleset.valid()) return failed("landlock create ruleset", errno);
  if (::syscall(SYS_landlock_restrict_self, ruleset.get(), 0) != 0)
    return failed("landlock restrict self", errno);
  return static_cast<int>(abi);
}

// ---------------------------------------------------------------------------
// seccomp

struct Sys {
  const char* name;
  int nr;
};
// clang-format off
#define KP_SYS(x) Sys{#x, SCMP_SYS(x)}

// Allowed unconditionally in every profile: I/O on descriptors already
// held, memory, threads' bookkeeping, time, signals to itself, identity
// reads. Nothing here names a path.
const Sys kAllowEverywhere[] = {
    KP_SYS(read), KP_SYS(write), KP_SYS(readv), KP_SYS(writev), KP_SYS(pread64), KP_SYS(pwrite64),
    KP_SYS(preadv), KP_SYS(pwritev), KP_SYS(lseek), KP_SYS(close),
    KP_SYS(fsync), KP_SYS(fdatasync), KP_SYS(ftruncate), KP_SYS(fstat), KP_SYS(fstatfs),
    KP_SYS(fcntl), KP_SYS(dup), KP_SYS(dup2), KP_SYS(dup3), KP_SYS(getdents64),
    KP_SYS(poll), KP_SYS(ppoll), KP_SYS(select), KP_SYS(pselect6), KP_SYS(epoll_create1),
    KP_SYS(epoll_ctl), KP_SYS(epoll_wait), KP_SYS(epoll_pwait),
    KP_SYS(recvmsg), KP_SYS(sendmsg), KP_SYS(recvfrom), KP_SYS(sendto), KP_SYS(recvmmsg),
    KP_SYS(sendmmsg), KP_SYS(shutdown),
    KP_SYS(getsockopt), KP_SYS(setsockopt), KP_SYS(getsockname), KP_SYS(getpeername),
    KP_SYS(brk), KP_SYS(mmap), KP_SYS(munmap), KP_SYS(mremap), KP_SYS(mprotect), KP_SYS(madvise),
    KP_SYS(mlock), KP_SYS(munlock),
    KP_SYS(futex), KP_SYS(set_robust_list), KP_SYS(get_robust_list), KP_SYS(rseq),
    KP_SYS(sched_yield), KP_SYS(sched_getaffinity),
    KP_SYS(getpid), KP_SYS(gettid), KP_SYS(getppid), KP_SYS(getuid), KP_SYS(geteuid),
    KP_SYS(getgid), KP_SYS(getegid), KP_SYS(getresuid), KP_SYS(getresgid),
    KP_SYS(getrandom), KP_SYS(clock_gettime), KP_SYS(clock_getres), KP_SYS(gettimeofday),
    KP_SYS(time), KP_SYS(nanosleep), KP_SYS(clock_nanosleep),
    KP_SYS(alarm), KP_SYS(setitimer), KP_SYS(getitimer),
    KP_SYS(rt_sigaction), KP_SYS(rt_sigprocmask), KP_SYS(rt_sigreturn), KP_SYS(sigaltstack),
    KP_SYS(restart_syscall),
    KP_SYS(exit), KP_SYS(exit_group), KP_SYS(getrusage), KP_SYS(uname), KP_SYS(sysinfo),
};

// Allowed in the http profile only: taking connections off the listening
// socket it already holds, and its worker threads (clone is handled apart).
// Poco 1.11's Socket::poll (the server's dispatcher, every keep-alive
// wait) creates its epoll instance with the old epoll_create, not
// epoll_create1: a new anonymous descriptor, no path.
const Sys kAllowHttp[] = {
    KP_SYS(accept), KP_SYS(accept4), KP_SYS(set_tid_address), KP_SYS(epoll_create),
};

// Refused with EACCES in every profile: paths (a library that probes a file
// gets a clean error), new descriptors to the outside, programs, other
// processes, the kernel's own state, and identity changes.
const Sys kRefuseEverywhere[] = {
    KP_SYS(open), KP_SYS(openat), KP_SYS(openat2), KP_SYS(creat), KP_SYS(access), KP_SYS(faccessat),
    KP_SYS(faccessat2), KP_SYS(stat), KP_SYS(lstat), KP_SYS(statfs),
    KP_SYS(readlink), KP_SYS(readlinkat), KP_SYS(truncate),
    KP_SYS(mknod), KP_SYS(mknodat), KP_SYS(link), KP_SYS(linkat), KP_SYS(symlink),
    KP_SYS(symlinkat), KP_SYS(rename), KP_SYS(renameat), KP_SYS(renameat2),
    KP_SYS(unlink), KP_SYS(unlinkat), KP_SYS(mkdir), KP_SYS(mkdirat), KP_SYS(rmdir),
    KP_SYS(chmod), KP_SYS(fchmod), KP_SYS(fchmodat), KP_SYS(chown), KP_SYS(fchown), KP_SYS(lchown),
    KP_SYS(fchownat),
    KP_SYS(execve), KP_SYS(execveat), KP_SYS(fork), KP_SYS(vfork),
    KP_SYS(socket), KP_SYS(socketpair), KP_SYS(connect), KP_SYS(bind), KP_SYS(listen),
    KP_SYS(memfd_create),
    KP_SYS(ptrace), KP_SYS(process_vm_readv), KP_SYS(process_vm_writev),
    KP_SYS(mount), KP_SYS(umount2), KP_SYS(pivot_root), KP_SYS(chroot), KP_SYS(unshare),
    KP_SYS(setns),
    KP_SYS(init_module), KP_SYS(finit_module), KP_SYS(delete_module), KP_SYS(kexec_load),
    KP_SYS(kexec_file_load), KP_SYS(bpf),
    KP_SYS(keyctl), KP_SYS(add_key), KP_SYS(request_key), KP_SYS(perf_event_open),
    KP_SYS(userfaultfd), KP_SYS(personality),
    KP_SYS(setuid), KP_SYS(setgid), KP_SYS(setreuid), KP_SYS(setregid), KP_SYS(setresuid),
    KP_SYS(setresgid), KP_SYS(setfsuid), KP_SYS(setfsgid), KP_SYS(setgroups), KP_SYS(capset),
};

// New pipes: refused in production builds (nothing confined needs one).
// Sanitizer builds allow them: UBSan's vptr check asks whether memory is
// readable by writing it into a fresh pipe, and reports a false "invalid
// vptr" (fatal with -fno-sanitize-recover) when pipe() fails. The
// sanitizer build (KP_SANITIZE) turns on ASan and UBSan together, and the
// compiler marks it with __SANITIZE_ADDRESS__.
#ifdef __SANITIZE_ADDRESS__
constexpr bool kAllowPipes = true;
#else
constexpr bool kAllowPipes = false;
#endif
const Sys kPipes[] = {KP_SYS(pipe), KP_SYS(pipe2)};

// Refused with EACCES by deny_exec_and_escape(), which allows the rest.
const Sys kRefuseEscape[] = {
    KP_SYS(execve), KP_SYS(execveat), KP_SYS(ptrace), KP_SYS(process_vm_readv),
    KP_SYS(process_vm_writev),
    KP_SYS(mount), KP_SYS(umount2), KP_SYS(pivot_root), KP_SYS(chroot), KP_SYS(setns),
    KP_SYS(unshare),
    KP_SYS(init_module), KP_SYS(finit_module), KP_SYS(delete_module), KP_SYS(kexec_load),
    KP_SYS(kexec_file_load), KP_SYS(bpf),
    KP_SYS(keyctl), KP_SYS(add_key), KP_SYS(request_key), KP_SYS(perf_event_open),
    KP_SYS(userfaultfd), KP_SYS(personality),
};
// clang-format on

// clone flags that make a new namespace (clone's CSIGNAL byte shares its
// bits with CLONE_NEWTIME, which only clone3 and unshare take).
const std::uint64_t kNamespaceFlags[] = {CLONE_NEWNS,   CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
                                         CLONE_NEWUSER, CLONE_NEWPID,    CLONE_NEWNET};

// A filter under construction; every add names the syscall in its error.
class Filter {
 public:
  // A filter whose unmatched syscalls get `default_action`, applied to every
  // thread of the process on load (TSYNC), and which kills the process on
  // a foreign architecture (x32 or i386 entry points on x86_64).
  static Result<Filter> make(std::uint32_t default_action) {
    SeccompFilter ctx(seccomp_init(default_action));
    if (!ctx) return failed("seccomp init", ENOMEM);
    int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_TSYNC, 1);
    if (rc != 0) return failed("seccomp tsync", -rc);
    rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    if (rc != 0) return failed("seccomp bad-arch action", -rc);
    return Filter(std::move(ctx));
  }

  Status add(std::uint32_t action, const Sys& s, std::initializer_list<scmp_arg_cmp> cmps = {}) {
    const int rc = seccomp_rule_add_array(ctx_.get(), action, s.nr,
                                          static_cast<unsigned>(cmps.size()), cmps.begin());
    if (rc != 0) return failed(std::string("seccomp rule for ") + s.name, -rc);
    return ok_status();
  }

  template <std::size_t N>
  Status add_all(std::uint32_t action, const Sys (&list)[N]) {
    for (const Sys& s : list) KP_GUARD(add(action, s));
    return ok_status();
  }

  // Allows `s` when argument `arg` is one of `allowed` and answers `other`
  // for every other value. libseccomp takes one comparison per argument and
  // rule, so the complement is spelt out as "below the least", "above the
  // greatest" and, for each gap between two allowed values, aligned blocks
  // matched with a mask. `allowed` must be sorted ascending.
  Status add_only_values(const Sys& s, unsigned arg, std::initializer_list<std::uint64_t> allowed,
                         std::uint32_t other) {
    const std::uint64_t* v = allowed.begin();
    const std::size_t n = allowed.size();
    for (std::size_t i = 0; i < n; ++i) {
      KP_GUARD(add(SCMP_ACT_ALLOW, s, {cmp(arg, SCMP_CMP_EQ, v[i])}));
      if (i > 0) KP_GUARD(add_gap(s, arg, v[i - 1] + 1, v[i] - 1, other));
    }
    KP_GUARD(add(other, s, {cmp(arg, SCMP_CMP_LT, v[0])}));
    KP_GUARD(add(other, s, {cmp(arg, SCMP_CMP_GT, v[n - 1])}));
    return ok_status();
  }

  Status load() {
    const int rc = seccomp_load(ctx_.get());
    if (rc != 0) return failed("seccomp load", -rc);
    return ok_status();
  }

  static scmp_arg_cmp cmp(unsigned arg, scmp_compare op, std::uint64_t a, std::uint64_t b = 0) {
    return scmp_arg_cmp{arg, op, a, b};
  }

 private:
  explicit Filter(SeccompFilter ctx) : ctx_(std::move(ctx)) {}

  // Answers `action` for every value in [lo, hi] (an empty range adds
  // nothing), one masked block of 2^k values aligned to 2^k at a time.
  Status add_gap(const Sys& s, unsigned arg, std::uint64_t lo, std::uint64_t hi,
                 std::uint32_t action) {
    while (lo <= hi && lo != 0) {
      std::uint64_t block = lo & (~lo + 1);  // the largest power of two dividing lo
      while (block > 1 && lo + block - 1 > hi) block >>= 1;
      KP_GUARD(add(action, s, {cmp(arg, SCMP_CMP_MASKED_EQ, ~(block - 1), lo)}));
      if (lo + block - 1 == hi) break;
      lo += block;
    }
    return ok_status();
  }

  SeccompFilter ctx_;
};

const std::uint32_t kRefuse = SCMP_ACT_ERRNO(EACCES);

// The rules whose arguments matter, shared by every profile.
Status add_argument_rules(Filter& f) {
  // fstat() is newfstatat(fd, "", buf, AT_EMPTY_PATH) in glibc >= 2.33.
  // Without AT_EMPTY_PATH the call names a path: refused. With it and a
  // non-empty path the kernel still resolves the path (a stat by name,
  // metadata only: seccomp cannot read the string; Landlock does not cover
  // stat).
  const Sys newfstatat = KP_SYS(newfstatat);
  KP_GUARD(f.add(SCMP_ACT_ALLOW, newfstatat,
                 {Filter::cmp(3, SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH)}));
  KP_GUARD(f.add(kRefuse, newfstatat, {Filter::cmp(3, SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, 0)}));
  const Sys statx = KP_SYS(statx);
  KP_GUARD(f.add(SCMP_ACT_ALLOW, statx,
                 {Filter::cmp(2, SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH)}));
  KP_GUARD(f.add(kRefuse, statx, {Filter::cmp(2, SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, 0)}));

  // ioctl: bytes waiting, non-blocking mode, and TCGETS so isatty() answers;
  // every other request is "not a terminal" rather than a kill.
  KP_GUARD(
      f.add_only_values(KP_SYS(ioctl), 1, {TCGETS, FIONREAD, FIONBIO}, SCMP_ACT_ERRNO(ENOTTY)));
  // prctl: thread names only (PR_SET_NAME = 15, PR_GET_NAME = 16).
  static_assert(PR_SET_NAME + 1 == PR_GET_NAME);
  KP_GUARD(f.add_only_values(KP_SYS(prctl), 0, {PR_SET_NAME, PR_GET_NAME}, kRefuse));
  // prlimit64: reading limits (getrlimit) only, never setting them.
  const Sys prlimit64 = KP_SYS(prlimit64);
  KP_GUARD(f.add(SCMP_ACT_ALLOW, prlimit64, {Filter::cmp(2, SCMP_CMP_EQ, 0)}));
  KP_GUARD(f.add(kRefuse, prlimit64, {Filter::cmp(2, SCMP_CMP_NE, 0)}));

  // Signals only to this process (raise, abort, pthread_kill use tgkill
  // with the own pid; tkill reaches the main thread only). The pid is fixed
  // here: the process cannot fork afterwards (session, parser) or clones
  // only threads (http).
  const auto self = static_cast<std::uint64_t>(::getpid());
  for (const Sys& s : {KP_SYS(kill), KP_SYS(tgkill), KP_SYS(tkill)}) {
    KP_GUARD(f.add(SCMP_ACT_ALLOW, s, {Filter::cmp(0, SCMP_CMP_EQ, self)}));
    KP_GUARD(f.add(kRefuse, s, {Filter::cmp(0, SCMP_CMP_NE, self)}));
  }
  // glibc tries clone3 first and falls back to clone on ENOSYS; clone's
  // flags are a plain argument the filter can look at, clone3's are not.
  KP_GUARD(f.add(SCMP_ACT_ERRNO(ENOSYS), KP_SYS(clone3)));
  return ok_status();
}

Status load_profile_filter(Profile profile) {
  KP_TRY(Filter f, Filter::make(SCMP_ACT_KILL_PROCESS));
  KP_GUARD(f.add_all(SCMP_ACT_ALLOW, kAllowEverywhere));
  KP_GUARD(f.add_all(kRefuse, kRefuseEverywhere));
  KP_GUARD(f.add_all(kAllowPipes ? SCMP_ACT_ALLOW : kRefuse, kPipes));
  KP_GUARD(add_argument_rules(f));
  const Sys clone = KP_SYS(clone);
  if (profile == Profile::http) {
    KP_GUARD(f.add_all(SCMP_ACT_ALLOW, kAllowHttp));
    // Threads only (x86_64: flags are the first argument): never a process.
    KP_GUARD(f.add(SCMP_ACT_ALLOW, clone,
                   {Filter::cmp(0, SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD)}));
    KP_GUARD(f.add(kRefuse, clone, {Filter::cmp(0, SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0)}));
  } else if (profile == Profile::parser) {
    // The parser child hashes and reseals on a helper thread while it
    // decrypts and reads the tar (workers/package.cpp): threads only, as
    // for http; never a process, never a listening socket.
    KP_GUARD(f.add(SCMP_ACT_ALLOW, clone,
                   {Filter::cmp(0, SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD)}));
    KP_GUARD(f.add(kRefuse, clone, {Filter::cmp(0, SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0)}));
    KP_GUARD(f.add(kRefuse, KP_SYS(accept)));
    KP_GUARD(f.add(kRefuse, KP_SYS(accept4)));
  } else {
    KP_GUARD(f.add(kRefuse, clone));
    KP_GUARD(f.add(kRefuse, KP_SYS(accept)));
    KP_GUARD(f.add(kRefuse, KP_SYS(accept4)));
  }
  return f.load();
}

}  // namespace

// ---------------------------------------------------------------------------

Result<std::optional<Identity>> lookup_user(const std::string& name) {
  long hint = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buf(hint > 0 ? static_cast<std::size_t>(hint) : 16384);
  for (;;) {
    passwd pw{};
    passwd* found = nullptr;
    const int rc = ::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found);
    if (rc == ERANGE && buf.size() < (1u << 20)) {
      buf.resize(buf.size() * 2);
      continue;
    }
    if (rc == 0 || rc == ENOENT) {
      if (!found) return std::optional<Identity>();
      return std::optional<Identity>(Identity{pw.pw_uid, pw.pw_gid, pw.pw_name});
    }
    return make_error("user-lookup-failed", name + ": " + std::strerror(rc));
  }
}

Status ensure_system_users() {
  if (::geteuid() != 0) return ok_status();
  for (const char* name : {kSessionUser, kWorkerUser}) {
    KP_TRY(const std::optional<Identity> existing, lookup_user(name));
    if (existing) continue;
    // useradd is what Debian administrators expect to have made a system
    // user; run without a shell, with a fixed environment.
    const char* argv[] = {
        "/usr/sbin/useradd", "--system",          "--no-create-home", "--home-dir", "/nonexistent",
        "--shell",           "/usr/sbin/nologin", "--user-group",     name,         nullptr};
    const char* envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", nullptr};
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, argv[0], nullptr, nullptr, const_cast<char**>(argv),
                                 const_cast<char**>(envp));
    if (rc != 0)
      return make_error("user-create-failed",
                        std::string(name) + ": cannot run useradd: " + std::strerror(rc));
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
      if (errno != EINTR)
        return make_error("user-create-failed",
                          std::string(name) + ": waitpid: " + std::strerror(errno));
    }
    KP_ENSURE(WIFEXITED(status) && WEXITSTATUS(status) == 0, "user-create-failed",
              std::string(name) + ": useradd failed");
    KP_TRY(const std::optional<Identity> created, lookup_user(name));
    KP_ENSURE(created.has_value(), "user-create-failed",
              std::string(name) + ": still missing after useradd");
  }
  return ok_status();
}

Result<Report> enter(Profile profile, const std::optional<Identity>& as) {
  Report report;
  // Capabilities and Landlock bind the calling thread only; another thread
  // already running would stay outside them.
  const std::string threads = status_field(read_proc_status(), "Threads");
  KP_ENSURE(threads == "1", "sandbox-failed",
            "enter: the process must have exactly one thread (Threads: " + threads + ")");
  const bool root = ::geteuid() == 0;
  if (root) {
    KP_ENSURE(as.has_value(), "sandbox-failed", "enter: running as root needs a user to switch to");
    KP_GUARD(drop_bounding_set(true));  // needs CAP_SETPCAP: before the switch
    KP_GUARD(switch_user(*as));
    report.uid_switched = true;
  } else {
    KP_GUARD(drop_bounding_set(false));
  }
  KP_GUARD(drop_capabilities());
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return failed("no_new_privs", errno);
  KP_TRY(report.landlock_abi, restrict_with_landlock());
  KP_GUARD(load_profile_filter(profile));
  return report;
}

Status deny_exec_and_escape() {
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return failed("no_new_privs", errno);
  KP_TRY(Filter f, Filter::make(SCMP_ACT_ALLOW));
  KP_GUARD(f.add_all(kRefuse, kRefuseEscape));
  // New namespaces through clone are refused as unshare is; clone3 hides
  // its flags from the filter, so it answers ENOSYS and glibc uses clone.
  const Sys clone = KP_SYS(clone);
  for (const std::uint64_t flag : kNamespaceFlags)
    KP_GUARD(f.add(kRefuse, clone, {Filter::cmp(0, SCMP_CMP_MASKED_EQ, flag, flag)}));
  KP_GUARD(f.add(SCMP_ACT_ERRNO(ENOSYS), KP_SYS(clone3)));
  return f.load();
}

std::string status_line() {
  const std::string s = read_proc_status();
  return "Uid=" + status_field(s, "Uid") + " CapEff=" + status_field(s, "CapEff") +
         " NoNewPrivs=" + status_field(s, "NoNewPrivs") + " Seccomp=" + status_field(s, "Seccomp");
}

#undef KP_SYS

void close_all_but(std::vector<int> keep) {
  std::sort(keep.begin(), keep.end());
  unsigned from = 0;
  for (int k : keep) {
    if (k < 0) continue;
    if (static_cast<unsigned>(k) > from) ::close_range(from, static_cast<unsigned>(k) - 1, 0);
    from = static_cast<unsigned>(k) + 1;
  }
  ::close_range(from, ~0U, 0);
}

Status unmap_files_under(const std::string& prefix) {
  std::vector<std::pair<uintptr_t, uintptr_t>> ranges;
  {
    std::ifstream maps("/proc/self/maps");
    KP_ENSURE(maps, "sandbox-failed", "cannot read /proc/self/maps");
    std::string line;
    while (std::getline(maps, line)) {
      // start-end perms offset dev inode path
      auto slash = line.find(" /");
      if (slash == std::string::npos) continue;
      std::string path = line.substr(slash + 1);
      if (path.rfind(prefix, 0) != 0) continue;
      uintptr_t start = std::stoull(line.substr(0, line.find('-')), nullptr, 16);
      uintptr_t end = std::stoull(line.substr(line.find('-') + 1), nullptr, 16);
      ranges.emplace_back(start, end);
    }
  }
  for (const auto& [start, end] : ranges)
    KP_ENSURE(::munmap(reinterpret_cast<void*>(start), end - start) == 0, "sandbox-failed",
              std::string("cannot unmap a mapping of the data directory: ") + std::strerror(errno));
  return ok_status();
}

}  // namespace kp::sandbox
