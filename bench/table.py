"""The human table of a bench run (bench/run.py), from its results."""


def ms(seconds):
    if seconds is None or seconds == float("inf"):
        return None
    return round(seconds * 1000, 1)


def table(r):
    rows = []

    def row(figure, value, target, ok):
        mark = "" if ok is None else ("met" if ok else "NOT met")
        rows.append((figure, value, target, mark))

    def f(v, fmt="{:.1f}"):
        return "n/a" if v is None else fmt.format(v)

    c, t, lat = r.get("ceiling"), r.get("throughput"), r.get("latency")
    p = r.get("path") or {}
    if p.get("db_writes_per_report") is not None:
        top = sorted(p["ops_per_report"].items(), key=lambda kv: -kv[1]["server_ms"])[:3]
        row("0 one report's path", f"{p['db_writes_per_report']} writes + "
            f"{p['db_reads_per_report']} reads, {p['events_published_per_report']} events, "
            f"{p['deliveries_per_report']} deliveries", "", None)
        row("  most database time", ", ".join(f"{k} {v['server_ms']:.0f} ms"
                                              for k, v in top), "", None)
        if "collection_scans" in p:
            found = p["collection_scans"]
            row("  filters reading a whole collection", ", ".join(
                f"{s['op']} ({s['documents']} documents)" for s in found) or "none",
                "none", not found)
    if c:
        row("1 ceiling (kombu+pymongo)", f"{c['reports_per_s']:.1f} reports/s "
            f"({c['writes_per_report']} writes, {c['published_per_report']} confirms, "
            f"{c['consumed_per_report']} acks)", "", None)
    if t:
        row("2 throughput, report -> notice", f"{t['reports_per_s']:.1f} reports/s",
            ">= 60", t["reports_per_s"] >= 60)
        cpu = t["cpu_ms_per_report_total"]
        parts = ", ".join(f"{k} {v:.0f}" for k, v in t["cpu_ms_per_report"].items())
        row("  CPU per report (all processes)", f"{f(cpu, '{:.0f}')} ms ({parts})", "<= 30",
            cpu is not None and cpu <= 30)
        if t.get("at_rest_ms_per_s"):
            idle = t["at_rest_ms_per_s"]
            row("  CPU at rest after it", f"{sum(idle.values()):.0f} ms a second ("
                + ", ".join(f"{k} {v:.0f}" for k, v in idle.items())
                + f"), {t['stored']} reports stored", "", None)
        if "ratio_to_ceiling" in t:
            row("  ratio to ceiling", f"{t['ratio_to_ceiling']:.0%}", ">= 50%",
                t["ratio_to_ceiling"] >= 0.5)
    def pcts(p):
        return " / ".join(f"{k} {ms(p[k]):.0f}" if ms(p[k]) is not None
                          else f"{k} not reached" for k in ("p50", "p95", "p99")) + " ms"

    if lat:
        n = lat["report_to_notice_s"]
        row(f"3 latency report -> notice ({lat['rate']}/s)", pcts(n), "p99 <= 200",
            n["p99"] is not None and n["p99"] <= 0.2)
        row("  accept -> signed webhook", pcts(lat["accept_to_webhook_s"]), "", None)
        missing = lat.get("notices_missing_after_drain")
        if missing:
            row("  notices not in the feed", f"{missing} of {lat['arrivals']} "
                "(filed late by > 30 s, or no notice 60 s after)", "", None)
    light = r.get("latency_light")
    if light:
        row(f"  at {light['rate']}/s: report -> notice", pcts(light["report_to_notice_s"]),
            "", None)
        row(f"  at {light['rate']}/s: accept -> webhook", pcts(light["accept_to_webhook_s"]),
            "", None)
    sus = r.get("sustained")
    if sus:
        row(f"  sustained within p99 {sus['target_p99_ms']:.0f} ms",
            (f"{sus['rate']} reports/s" if sus["rate"] else "none of the ladder") + " ("
            + ", ".join(f"{t['rate']}/s p99 {t['p99_ms']} ms" for t in sus["tried"]) + ")",
            "stated", None)
    s = r.get("sweep")
    if s and "ratio" in s:
        row("4 sweep, 100 due", f"{s['small']['open']:,} open {s['small']['ms']:.0f} ms; "
            f"{s['large']['open']:,} open {s['large']['ms']:.0f} ms; "
            f"ratio {s['ratio']:.2f}", "<= 1.5", s["ratio"] <= 1.5)
    elif s:
        row("4 sweep", "not measured: " + str(s.get("error", ""))[:80], "<= 1.5", None)
    mem = r.get("memory", {}).get("peak_rss_mb", {})
    if mem:
        row("5 peak RSS", ", ".join(f"{k} {v:.0f} MB" for k, v in mem.items()), "<= 150 each",
            max(mem.values()) <= 150)
    fl = r.get("flood")
    if fl:
        q, fd, ratio = fl["quiet"], fl["flooded"], fl["flooded_over_quiet"]
        row("6 flood: others' filings/s", f"{f(q['honest_filed_per_s'], '{:.2f}')} quiet, "
            f"{f(fd['honest_filed_per_s'], '{:.2f}')} flooded "
            f"(x{f(ratio.get('honest_filed_per_s'), '{:.3f}')})", ">= x0.9",
            ratio.get("honest_filed_per_s", 0) >= 0.9)
        row("  others' filing p99", f"{f(q['honest_p99_ms'])} ms quiet, "
            f"{f(fd['honest_p99_ms'])} ms flooded (x{f(ratio.get('honest_p99_ms'), '{:.3f}')})",
            "<= x1.1", ratio.get("honest_p99_ms", 99) <= 1.1)
        row("  the 16th company", f"at its limit {q['flood_filed']} filed of {q['flood_sent']}; "
            f"flooding {fd['flood_sent']} sent at {fl['flood_rate']:.0f}/s, "
            f"{fd['flood_filed']} filed, {fd['flood_refused_429']} answered 429", "", None)
    fl = r.get("files")
    if fl:
        row("7 evidence file, 25 MB", f"up {fl['upload_mb_s']:.1f} MB/s, down "
            f"{fl['download_mb_s']:.1f} MB/s, sha256 "
            f"{'matches' if fl['sha256_matches'] else 'DIFFERS'}", "", None)
        row("  intake RSS growth", f"{fl['intake_rss_growth_mb']:.1f} MB over "
            f"{fl['intake_idle_rss_mb']:.0f} MB idle", "<= 30",
            fl["intake_rss_growth_mb"] <= 30 and fl["sha256_matches"])
    pg = r.get("pages")
    if pg:
        for n, (page, p) in enumerate(pg["pages"].items()):
            label = (f"8 web page, {pg['cases']:,} cases, {pg['people']} people: "
                     if n == 0 else "  ") + page
            row(label, f"p50 {f(p['p50'], '{:.0f}')} / p95 {f(p['p95'], '{:.0f}')} / "
                f"p99 {f(p['p99'], '{:.0f}')} ms ({p['n']} answers)", "p95 <= 200",
                isinstance(p["p95"], (int, float)) and p["p95"] <= 200)
            cpu = (pg.get("cpu_ms") or {}).get(page)
            if cpu:
                row("    CPU per answer", f"{sum(cpu.values()):.0f} ms: " + ", ".join(
                    f"{k} {v:.0f}" for k, v in sorted(cpu.items(), key=lambda kv: -kv[1])),
                    "", None)
    m = r["machine"]
    head = (f"FastTrack bench {r['date']} scale {r['scale']} — {m['nproc']} CPUs "
            f"{m['cpu']}, {m['memory_gb']} GB, {m['database']}")
    w0 = max(len(x[0]) for x in rows) if rows else 10
    w1 = max(len(x[1]) for x in rows) if rows else 10
    lines = [head, "", f"{'figure':{w0}}  {'measured':{w1}}  {'target':12}  ",
             "-" * (w0 + w1 + 24)]
    lines += [f"{a:{w0}}  {b:{w1}}  {c:12}  {d}" for a, b, c, d in rows]
    return "\n".join(lines)
