"""CPU time and memory of a server's process tree, read from /proc.

Both servers under test fork (sshd) or may fork (knooppunt) per connection,
and a per-connection process is reaped by its parent when the session ends.
The kernel then adds the child's utime+stime (and its own cutime+cstime) to
the parent's cutime+cstime. So "CPU used by the server" is the sum, over
every live (or zombie) process in the tree rooted at the listener, of
utime+stime+cutime+cstime: each tick is counted exactly once, whether its
process is still running, already reaped, or a thread of a single-process
server. The sum is only racy while a process is being reaped between two
reads, so callers wait for the tree to settle (wait_quiet) before reading.

Memory is the sum of PSS (proportional set size, shared pages divided among
their sharers) from /proc/PID/smaps_rollup over the same tree, so forked
children that share the listener's pages are not counted twice.
"""

import os
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid):
    """Fields of /proc/PID/stat after the command name, or None if the
    process is gone. Field 0 here is the state (field 3 in proc(5))."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode("ascii", "replace")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name may hold spaces and parentheses; cut at the last ')'.
    return raw[raw.rindex(")") + 2:].split()


def children_map():
    """Map parent pid -> list of child pids, over the whole system."""
    kids = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        fields = _stat_fields(int(name))
        if fields is None:
            continue
        kids.setdefault(int(fields[1]), []).append(int(name))
    return kids


def tree(root):
    """Pids of ROOT and all its descendants (ROOT first). Empty if ROOT is
    gone."""
    if _stat_fields(root) is None:
        return []
    kids = children_map()
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


def cpu_seconds(root):
    """Cumulative CPU seconds (user+system, own and reaped children) of the
    process tree under ROOT. Monotone as long as the tree is quiet."""
    ticks = 0
    for pid in tree(root):
        fields = _stat_fields(pid)
        if fields is None:
            continue
        # proc(5) fields 14..17 = utime stime cutime cstime; index 11..14 here.
        ticks += sum(int(x) for x in fields[11:15])
    return ticks / CLK_TCK


def pss_kib(root):
    """Sum of Pss (KiB) over the process tree under ROOT."""
    total = 0
    for pid in tree(root):
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def wait_quiet(root, base_count, timeout=15.0):
    """Wait until the tree under ROOT has at most BASE_COUNT processes (the
    per-connection children have exited and been reaped), bounded by
    TIMEOUT seconds. Returns True if it settled."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(tree(root)) <= base_count:
            # A little slack so a just-reaped child's times have landed.
            time.sleep(0.05)
            return True
        time.sleep(0.05)
    return False
