"""`make bench` step 6, the flood (issue 20): one company files at ten times
its rate limit while 15 others file at an honest pace; their filings per
second and their p99 must stay within 10 % of the same run without the
flood. Intake is restarted for the step with a limits file of its own: the
flooder's limit is FLOOD_LIMIT a minute, FLOOD_BURST at once (the shipped
policy's shape for filing), everyone else files well under it.

"Without the flood" is the same sixteen companies with the sixteenth filing
at its limit's pace: what it is allowed is work the system must do either
way; the flood is the nine tenths over it, which must cost the others
nothing. (With no sixteenth company at all the two runs would also differ by
a report a second of admitted filings.) Each figure is the two runs side by
side and their ratio, from one run."""
import json
import os
import threading
import time

from bench.load import Api, nth_report, percentiles

HONEST = 15
HONEST_RATE = 0.2           # reports a second, each honest company: 3/s in all, under saturation
FLOOD_LIMIT = 60            # reports a minute: the limit for each company
FLOOD_BURST = 10            # of them at once
FLOOD_RATE = 10 * FLOOD_LIMIT / 60     # ten times its limit, a second


def limits_file(folder):
    path = os.path.join(folder, "limits-flood.json")
    limit = {"window_seconds": 60, "per_principal": FLOOD_LIMIT, "burst": FLOOD_BURST,
             "per_source": 100000}
    with open(path, "w") as f:
        json.dump({"version": 1, "limits": {name: limit for name in (
            "report.file", "report.supply_materials", "report.upload", "oauth.token",
            "webhook.ping")}}, f)
    return path


def pace(api, token, rate, until, out, lock, start_index):
    """File at `rate` a second until `until`; (latency s, status) per filing."""
    interval, i, next_at = 1 / rate, start_index, time.monotonic()
    while next_at < until:
        time.sleep(max(0, next_at - time.monotonic()))
        t0 = time.monotonic()
        try:
            status = api.call("POST", "/reports", nth_report(i), token=token).status_code
        except Exception:
            status = 0
        with lock:
            out.append((time.monotonic() - t0, status))
        i += 1
        next_at += interval


def phase(intake_url, honest, sixteenth, flooding, seconds, base):
    """The honest companies at their pace, and the sixteenth at its limit's
    pace or, flooding, at ten times it."""
    api, lock = Api(intake_url), threading.Lock()
    results = {token: [] for _, token in honest + [sixteenth]}
    until = time.monotonic() + seconds
    threads = [threading.Thread(target=pace, args=(api, token, HONEST_RATE, until,
                                                   results[token], lock, base + n * 10000))
               for n, (_, token) in enumerate(honest)]
    # Flooding, several senders: the flood does not wait on its own answers.
    senders, rate = (4, FLOOD_RATE / 4) if flooding else (1, FLOOD_LIMIT / 60)
    threads += [threading.Thread(target=pace, args=(
        api, sixteenth[1], rate, until, results[sixteenth[1]], lock,
        base + 900000 + n * 10000)) for n in range(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    honest_calls = [c for _, token in honest for c in results[token]]
    ok = [lat for lat, status in honest_calls if status == 201]
    flood = results[sixteenth[1]]
    return {"honest_filed_per_s": len(ok) / seconds,
            "honest_refused": sum(1 for _, status in honest_calls if status != 201),
            "honest_p99_ms": round(percentiles(ok)["p99"] * 1000, 1) if ok else None,
            "flood_sent": len(flood),
            "flood_refused_429": sum(1 for _, status in flood if status == 429),
            "flood_filed": sum(1 for _, status in flood if status == 201)}


def run(b, users, seconds, folder):
    """The flood step: intake on the flood limits, a run with the sixteenth
    company at its limit's pace, then one with it flooding."""
    b.stack.stop_service("intake")
    b.stack.start_service("intake", {"FASTTRACK_LIMITS_POLICY": limits_file(folder)})
    try:
        honest, sixteenth = users.companies[:HONEST], users.companies[HONEST]
        quiet = phase(b.url("intake"), honest, sixteenth, False, seconds, 5_000_000)
        time.sleep(FLOOD_BURST * 60 / FLOOD_LIMIT + 1)   # its burst back: a rested flooder
        flooded = phase(b.url("intake"), honest, sixteenth, True, seconds, 6_000_000)
    finally:
        b.stack.stop_service("intake")
        b.stack.start_service("intake")
    ratio = {k: round(flooded[k] / quiet[k], 3) for k in ("honest_filed_per_s", "honest_p99_ms")
             if quiet.get(k) and flooded.get(k)}
    return {"seconds": seconds, "honest_companies": HONEST, "honest_rate": HONEST_RATE,
            "flood_rate": FLOOD_RATE, "limit_per_minute": FLOOD_LIMIT, "burst": FLOOD_BURST,
            "quiet": quiet, "flooded": flooded, "flooded_over_quiet": ratio}
