"""The chaos run at a small N, as `make chaos` runs it at 10,000: services
SIGKILLed at random, the broker and the database restarted, then every count
reconciled. It starts its own broker and database (it restarts them)."""
import json
import os
import subprocess
import sys

from tools.stack import ROOT


def test_nothing_lost_nothing_twice_under_chaos(tmp_path):
    out = tmp_path / "chaos.json"
    # Ports of its own, beside a `make chaos` that may be running on the machine.
    offset = int(os.environ.get("FASTTRACK_PORT_OFFSET") or 0) + 5
    run = subprocess.run(
        [sys.executable, "-m", "tools.chaos", "--reports", "40", "--rate", "4",
         "--kill-every", "4", "--settle", "240", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
        env=dict(os.environ, FASTTRACK_PORT_OFFSET=str(offset)))
    assert out.exists(), run.stdout[-3000:] + run.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["verdict"] == "pass", run.stdout[-3000:]
    assert result["reports_filed"] == result["cases_opened"] == 40
    assert result["notices_delivered"] == result["notices_expected"] >= 160
    assert result["webhook_events_received"] == result["webhook_events_expected"]
    kinds = [f[0] + " " + f[1] for f in result["faults"]]
    assert "restart broker" in kinds and "restart database" in kinds
    assert sum(k.startswith("SIGKILL") for k in kinds) >= 3
    assert run.returncode == 0
