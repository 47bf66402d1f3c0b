"""`make bench BASE=<rev>`: the same steps against BASE and this tree, on
one machine, interleaved, and each figure for both with their ratio.

A shared machine's noise moves absolute figures by a third from one run to
the next; a ratio from one run, where both sides met the same noise, is the
evidence a performance claim cites (issue 19). BASE is checked out in a
scratch worktree under var/bench/ (kept for the next run) that uses this
tree's virtualenv; each step runs as its own `python -m bench.run` in that
tree, then in this one — the order flipped from step to step, so a drift in
the machine's load does not always favour the same side — each on the bench
profile's ports and an emptied database.
"""
import argparse
import json
import os
import subprocess
import sys
from datetime import datetime, timezone

from tools.stack import ROOT

STEPS = ("throughput", "latency", "sweep", "ceiling", "flood", "files", "pages")
SERVICES = ("intake", "case_supervision", "notify")


def scratch_tree(rev):
    sha = subprocess.run(["git", "rev-parse", "--verify", f"{rev}^{{commit}}"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout.strip()
    tree = os.path.join(ROOT, "var", "bench", f"base-{sha[:12]}")
    if not os.path.isdir(tree):
        subprocess.run(["git", "worktree", "add", "--detach", tree, sha], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
        os.symlink(os.path.join(ROOT, ".venv"), os.path.join(tree, ".venv"))
    return sha, tree


def run_step(tree, step, scale, out):
    skip = ",".join(s for s in STEPS if s != step)
    env = dict(os.environ, FASTTRACK_BENCH_SCALE=str(scale))
    print(f"ab: {step} in {os.path.relpath(tree, ROOT) if tree != ROOT else 'this tree'}",
          flush=True)
    done = subprocess.run([sys.executable, "-m", "bench.run", "--scale", str(scale),
                           "--skip", skip, "--out", out], cwd=tree, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0 or not os.path.exists(out):
        return {"error": done.stderr[-400:]}
    with open(out) as f:
        return json.load(f)


def figures(runs):
    """The figures of one side, from its step runs."""
    t, lat, sw = (runs.get(k) or {} for k in ("throughput", "latency", "sweep"))
    tp = t.get("throughput") or {}
    cpu = tp.get("cpu_ms_per_report") or {}
    ceiling = ((runs.get("ceiling") or {}).get("ceiling") or {}).get("reports_per_s")
    path = t.get("path") or {}
    heavy, light = lat.get("latency") or {}, lat.get("latency_light") or {}
    s = sw.get("sweep") or {}
    fl = ((runs.get("flood") or {}).get("flood") or {}).get("flooded_over_quiet") or {}
    out = {
        "db writes per report": path.get("db_writes_per_report"),
        "db reads per report": path.get("db_reads_per_report"),
        "reports/s, report -> notice": tp.get("reports_per_s"),
        "CPU ms per report, all": tp.get("cpu_ms_per_report_total"),
        "CPU ms per report, services": sum(cpu.get(k, 0) for k in SERVICES) if cpu else None,
        "CPU ms a second at rest after it": sum((tp.get("at_rest_ms_per_s") or {}).values())
        or None,
        "ratio to ceiling": tp["reports_per_s"] / ceiling if ceiling and tp else None,
        "20/s report -> notice p50 ms": _ms(heavy, "report_to_notice_s", "p50"),
        "20/s report -> notice p99 ms": _ms(heavy, "report_to_notice_s", "p99"),
        "2/s report -> notice p50 ms": _ms(light, "report_to_notice_s", "p50"),
        "2/s report -> in the feed p50 ms": _ms(light, "report_to_notice_seen_s", "p50"),
        "2/s accept -> webhook p50 ms": _ms(light, "accept_to_webhook_s", "p50"),
        "reports/s sustained, p99 <= 200 ms": (lat.get("sustained") or {}).get("rate"),
        "sweep 100 due, large/small": s.get("ratio"),
        "flood: others' filings/s ratio": fl.get("honest_filed_per_s"),
        "flood: others' p99 ratio": fl.get("honest_p99_ms"),
    }
    for name in SERVICES:
        rss = ((t.get("memory") or {}).get("peak_rss_mb") or {}).get(name)
        out[f"peak RSS MB, {name}"] = rss
    return out


def _ms(block, key, pct):
    value = (block.get(key) or {}).get(pct)
    return None if value is None or value == float("inf") else round(value * 1000, 1)


def table(base_sha, head_sha, base, head):
    def f(v):
        return "n/a" if v is None else (f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}")
    rows = [(k, f(base.get(k)), f(head.get(k)),
             f(head[k] / base[k]) if base.get(k) and head.get(k) is not None else "n/a")
            for k in head]
    w = max(len(r[0]) for r in rows)
    lines = [f"A/B {datetime.now(timezone.utc).isoformat(timespec='seconds')}: "
             f"base {base_sha[:10]}, head {head_sha[:10]}", "",
             f"{'figure':{w}}  {'base':>10}  {'head':>10}  {'head/base':>9}",
             "-" * (w + 37)]
    lines += [f"{a:{w}}  {b:>10}  {c:>10}  {d:>9}" for a, b, c, d in rows]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("base")
    parser.add_argument("--scale", type=float,
                        default=float(os.environ.get("FASTTRACK_BENCH_SCALE") or 1))
    parser.add_argument("--steps", default=",".join(STEPS))
    args = parser.parse_args()
    base_sha, base_tree = scratch_tree(args.base)
    head_sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
    folder = os.path.join(ROOT, "var", "bench")
    runs = {"base": {}, "head": {}}
    for i, step in enumerate(args.steps.split(",")):
        order = (("base", base_tree), ("head", ROOT))
        for side, tree in (order if i % 2 == 0 else order[::-1]):
            runs[side][step] = run_step(tree, step, args.scale,
                                        os.path.join(folder, f"ab-{side}-{step}.json"))
    base, head = figures(runs["base"]), figures(runs["head"])
    with open(os.path.join(folder, "ab.json"), "w") as f:
        json.dump({"base": base_sha, "head": head_sha, "scale": args.scale,
                   "figures": {"base": base, "head": head}, "runs": runs}, f, indent=1,
                  default=str)
    print(table(base_sha, head_sha, base, head))
    print("\nJSON: var/bench/ab.json")


if __name__ == "__main__":
    main()
