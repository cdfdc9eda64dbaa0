"""bench/run's engine: start both servers, run every benchmark alternating
between them, and write the results as markdown and JSON.

Method (see bench/README.md): for each benchmark, 1 warm-up round then N
measured rounds; in every round each server gets one run, ours first, then
OpenSSH's, so slow drifts of the machine (page cache, thermal, other load)
hit both sides alike. We report median, min and max of the measured rounds
and the ratio of medians ours/openssh. A failed run is reported, not
retried; a server that dies is restarted once per benchmark.

Invoked by bench/run, which owns the temp dir and the EXIT trap that ends
any process group listed in TMP/pgids; this file also stops its servers
itself in `finally` and on SIGTERM/SIGINT/SIGHUP.
"""

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time

import cases as bench_cases
import servers as bench_servers

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def parse_args(argv):
    p = argparse.ArgumentParser(prog="bench/run", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="1 warm-up + 3 runs, 256 MiB instead of 1 GiB, fewer small files")
    p.add_argument("--only", action="append", default=[], metavar="NAME",
                   help="run only benchmarks whose name contains NAME "
                        "(repeatable, or comma-separated)")
    p.add_argument("--side", choices=["both", "ours", "openssh"], default="both")
    p.add_argument("--runs", type=int, help="measured runs per side (default 5, --quick 3)")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--list", action="store_true", help="list benchmark names and exit")
    p.add_argument("--tmp", help="work dir (bench/run makes one)")
    p.add_argument("--tmp-kind", default="unknown", help="ram or disk (for the report)")
    p.add_argument("--bin", default=os.environ.get("KNOOPPUNT_BIN",
                                                   os.path.join(REPO, "build", "knooppunt")))
    p.add_argument("--results", default=os.path.join(REPO, "bench", "results"))
    a = p.parse_args(argv)
    a.only = [x for item in a.only for x in item.split(",") if x]
    if a.runs is None:
        a.runs = 3 if a.quick else 5
    return a


def ours_unavailable(binary):
    """None if BINARY can serve, else the reason it cannot."""
    if not os.access(binary, os.X_OK):
        return f"{binary} not found"
    try:
        r = subprocess.run([binary, "serve", "--help"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"{binary} serve --help failed: {e}"
    return None if r.returncode == 0 else f"`{binary} serve --help` exited {r.returncode}"


def summarize(values):
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals),
            "values": values}


def fmt(v):
    if v is None:
        return "–"
    if float(v).is_integer() and abs(v) < 1e6:
        return str(int(v))
    a = abs(v)
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def run_case(case, ctx, servers, args):
    """Alternate the servers over warm-up + measured rounds. Returns the
    JSON-ready result of CASE."""
    out = {"name": case.name, "title": case.title, "how": case.how,
           "status": "ok", "errors": [], "metrics": []}
    runs = {s.name: [] for s in servers}
    restarted = set()
    case.prepare(ctx, servers)
    total = args.warmup + args.runs
    for i in range(total):
        warm = i < args.warmup
        for s in servers:
            if not s.alive() and s.name not in restarted:
                restarted.add(s.name)
                log(f"  {s.name} server is down; restarting it once")
                out["errors"].append(f"{s.name}: server had exited; restarted")
                try:
                    s.start()
                except bench_servers.ServerError as e:
                    out["errors"].append(f"{s.name}: restart failed: {e}")
            tag = f"{case.name}-{s.name}-{i}-{int(time.time() * 1000) % 10**8}"
            label = "warm-up" if warm else f"run {i - args.warmup + 1}/{args.runs}"
            try:
                m = case.run(ctx, s, tag)
            except bench_cases.RunFailed as e:
                log(f"  [{case.name}] {label} {s.name}: FAILED {e}")
                out["errors"].append(f"{s.name} {label}: {e}")
                m = None
            else:
                shown = ", ".join(f"{k}={fmt(v)}" for k, v in m.items())
                log(f"  [{case.name}] {label} {s.name}: {shown}")
            if not warm:
                runs[s.name].append(m)
    for key, label, unit, better in case.metrics:
        row = {"key": key, "label": label, "unit": unit, "better": better}
        for s in servers:
            row[s.name] = summarize([m.get(key) if m else None for m in runs[s.name]])
            row[s.name + "_ok_runs"] = sum(1 for m in runs[s.name] if m)
        o, x = row.get("ours"), row.get("openssh")
        row["ratio"] = (o["median"] / x["median"]
                        if o and x and x["median"] else None)
        out["metrics"].append(row)
    if out["errors"]:
        out["status"] = "errors"
    return out


def _loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def environment(args, ours_reason, servers):
    def sh(cmd):
        try:
            return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return "?"
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f
                        if l.startswith("model name")), "?")
    except OSError:
        pass
    by_name = {s.name: s for s in servers}
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "mode": "quick" if args.quick else "full",
        "warmup": args.warmup, "runs": args.runs,
        "host": platform.node(), "kernel": platform.release(),
        "cpu": cpu, "cpus": os.cpu_count(),
        "tmp_kind": args.tmp_kind,
        "openssh": by_name["openssh"].version() if "openssh" in by_name else "not run",
        "knooppunt": (by_name["ours"].version() if "ours" in by_name
                      else f"not run ({ours_reason or '--side ' + args.side})"),
        "loadavg_start": args.loadavg_start,
        "loadavg_end": _loadavg(),
        "knooppunt_bin": os.path.relpath(args.bin, REPO) if args.bin.startswith(REPO) else args.bin,
        "git": sh(["git", "-C", REPO, "rev-parse", "--short", "HEAD"]),
        "git_dirty": bool(sh(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"])),
    }


def markdown(env, results):
    L = ["# knooppunt vs OpenSSH internal-sftp", "",
         f"- date: {env['date']}, mode: {env['mode']} "
         f"({env['warmup']} warm-up + {env['runs']} runs per side, alternating)",
         f"- machine: {env['cpu']}, {env['cpus']} CPUs, Linux {env['kernel']}; "
         "clients and servers share these CPUs over loopback",
         f"- data and server dirs on: {env['tmp_kind']}",
         f"- load average (1/5/15 min) at start: {env['loadavg_start']}, at end: "
         f"{env['loadavg_end']} (other work on the machine skews results)",
         f"- ours: {env['knooppunt']} ({env['knooppunt_bin']}, git {env['git']}"
         f"{' + local changes' if env['git_dirty'] else ''})",
         f"- openssh: {env['openssh']}, sshd internal-sftp",
         "",
         "| benchmark | metric | unit | ours median | ours min–max | openssh median "
         "| openssh min–max | ours/openssh | better |",
         "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in results:
        if r["status"] == "not-available":
            L.append(f"| {r['name']} | {r['title']} | | {r['reason']} | | | | | |")
            continue
        for m in r["metrics"]:
            cells = []
            for side in ("ours", "openssh"):
                s = m.get(side)
                if side + "_ok_runs" not in m:
                    cells += ["not run", ""]
                elif not s:
                    # Runs succeeded but reported no value: a metric of the
                    # other side only (intake's `open` figures).
                    cells += ["n/a" if m.get(side + "_ok_runs") else "failed", ""]
                else:
                    cells += [fmt(s["median"]), f"{fmt(s['min'])}–{fmt(s['max'])}"]
            ratio = f"{m['ratio']:.2f}" if m.get("ratio") is not None else "–"
            L.append(f"| {r['name']} | {m['label']} | {m['unit']} | {cells[0]} | {cells[1]} "
                     f"| {cells[2]} | {cells[3]} | {ratio} | {m['better']} |")
    notes = [(r["name"], e) for r in results for e in r.get("errors", [])]
    if notes:
        L += ["", "## Failures and notes", ""]
        L += [f"- {name}: {e}" for name, e in notes]
    L += ["", "## What each benchmark does", ""]
    L += [f"- **{r['name']}** ({r['title']}): {r['how']}" for r in results]
    return "\n".join(L) + "\n"


def main(argv):
    args = parse_args(argv)
    args.loadavg_start = _loadavg()
    tmp = args.tmp
    if not tmp:
        import tempfile
        tmp = tempfile.mkdtemp(prefix="knooppunt-bench.")
    ctx = bench_cases.Context(tmp, os.path.join(tmp, "client_ed25519"), args.quick)
    selected = [c for c in bench_cases.all_cases(ctx)
                if not args.only or any(o in c.name for o in args.only)]
    if args.list:
        for c in bench_cases.all_cases(ctx):
            print(f"{c.name:20} {c.title}{'  [stub]' if c.stub else ''}")
        return 0
    if not selected:
        log(f"no benchmark matches {args.only}; see --list")
        return 2

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)

    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bench-client",
                    "-f", ctx.client_key], check=True)
    servers = []
    ours_reason = None
    try:
        if args.side in ("both", "ours"):
            ours_reason = ours_unavailable(args.bin)
            if ours_reason is None:
                ours = bench_servers.KnooppuntServer(tmp, ctx.client_key, args.bin)
                try:
                    ours.setup()
                    ours.start()
                    servers.append(ours)
                    log(f"ours: knooppunt serve on 127.0.0.1:{ours.port} (pid {ours.pid})")
                except bench_servers.ServerError as e:
                    ours_reason = str(e)
                    ours.stop()
            if ours_reason:
                log(f"ours: NOT AVAILABLE: {ours_reason}")
        if args.side in ("both", "openssh"):
            ssh = bench_servers.OpenSSHServer(tmp, ctx.client_key)
            ssh.setup()
            ssh.start()
            servers.append(ssh)
            log(f"openssh: sshd on 127.0.0.1:{ssh.port} (pid {ssh.pid})")
        if not servers:
            log("no server to benchmark")
            return 1

        results = []
        for case in selected:
            if case.stub:
                results.append({"name": case.name, "title": case.title, "how": case.how,
                                "status": "not-available", "reason": case.reason})
                continue
            log(f"[{case.name}] {case.title}")
            results.append(run_case(case, ctx, servers, args))

        env = environment(args, ours_reason, servers)
        os.makedirs(args.results, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        md = markdown(env, results)
        base = os.path.join(args.results, stamp)
        with open(base + ".md", "w") as f:
            f.write(md)
        with open(base + ".json", "w") as f:
            json.dump({"environment": env, "benchmarks": results}, f, indent=2)
        print(md)
        log(f"wrote {os.path.relpath(base, REPO)}.md and .json")
        failed = any(r["status"] == "errors" for r in results)
        return 1 if failed else 0
    finally:
        for s in servers:
            s.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
