"""Concurrent sessions of the teaching app: seconds per simulated year when N tabs play at once.

One server (`python -m sim app`: the vector engine, Ouyang Road), N tabs of one headless Chromium
(Debian's /usr/bin/chromium, driven by Playwright), each on the status quo (one run). All tabs
press ▶ within a second or two and play to the horizon (year 20) at the chosen speed; the
server logs each session's stop with the months it played and the seconds it took, and each
session's seconds per simulated year is read from there. The browser runs on the same machine
and takes its share of the CPU (as students' browsers would not).

    PYTHONPATH=. .venv/bin/python benchmarks/bench_app_sessions.py --sessions 1,10,30 --speed 12
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.app.server import server_environment  # noqa: E402
from tests.test_app_browser import CHROMIUM, CHROMIUM_ARGS, _cpu_seconds, _free_port, _server_pid  # noqa: E402

BACKGROUND_TABS_RUN = ["--disable-background-timer-throttling", "--disable-renderer-backgrounding",
                       "--disable-backgrounding-occluded-windows"]
"""Chromium throttles tabs in the background; every tab here stands for a student's front tab."""
STOP_LINE = re.compile(r"stopped playing at .* \(horizon\) after (\d+) months in ([\d.]+) s")


def start_server(port: int, log):
    """`python -m sim app` on a port; returns it once it answers."""
    app = subprocess.Popen([sys.executable, "-m", "sim", "app", "--port", str(port)], cwd=ROOT,
                           env=server_environment(), stdout=log, stderr=subprocess.STDOUT)
    for _ in range(240):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5):
                return app
        except OSError:
            time.sleep(0.5)
    app.terminate()
    raise RuntimeError("the server did not start")


def run(sessions: int, speed: str, timeout_s: float) -> dict:
    """Open `sessions` tabs, play them all to the horizon, and read their pace from the log."""
    from playwright.sync_api import sync_playwright

    port = _free_port()
    log_path = Path(tempfile.mkdtemp(prefix="bench-app-")) / "server.log"
    with open(log_path, "w") as log:
        app = start_server(port, log)
    try:
        server = _server_pid(app.pid)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                 args=CHROMIUM_ARGS + BACKGROUND_TABS_RUN)
            pages = []
            load_start = time.perf_counter()
            for _ in range(sessions):
                page = browser.new_page(viewport={"width": 1280, "height": 720})
                page.goto(f"http://127.0.0.1:{port}/")
                page.wait_for_selector("img.estate-map", timeout=180_000)
                page.locator(".estate-speed").get_by_role("button", name=speed, exact=True).click()
                pages.append(page)
            load_s = time.perf_counter() - load_start
            cpu_before, wall_before = _cpu_seconds(server), time.perf_counter()
            for page in pages:  # press ▶ in every tab, not waiting for the page to answer
                page.get_by_role("button", name="▶").click(no_wait_after=True)
            press_s = time.perf_counter() - wall_before
            deadline = time.perf_counter() + timeout_s
            while (len(STOP_LINE.findall(log_path.read_text())) < sessions
                   and time.perf_counter() < deadline):
                time.sleep(0.5)
            wall_s = time.perf_counter() - wall_before
            cpu_share = (_cpu_seconds(server) - cpu_before) / wall_s
            browser.close()
    finally:
        app.terminate()
        app.wait(timeout=60)
    per_year = sorted(float(seconds) / (int(months) / 12)
                      for months, seconds in STOP_LINE.findall(log_path.read_text()))
    return {"sessions": sessions, "finished": len(per_year), "load_s": load_s, "press_s": press_s,
            "cpu_share": cpu_share, "wall_s": wall_s,
            "median_s_per_year": statistics.median(per_year) if per_year else float("nan"),
            "max_s_per_year": max(per_year) if per_year else float("nan")}


def main() -> int:
    """Run the benchmark for each number of sessions and print one row each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", default="1,10,30", help="comma-separated numbers of tabs")
    parser.add_argument("--speed", default="12", help="the speed button pressed (months a second)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds allowed for the play")
    args = parser.parse_args()
    print(f"nproc {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}; speed {args.speed} months/s "
          f"(ideal: {12 / float(args.speed):.2f} s a year); each tab plays 20 years")
    print("sessions | finished | median s/year | worst s/year | server CPU (cores) | all ▶ pressed in (s)"
          " | load all tabs (s)")
    for n in (int(x) for x in args.sessions.split(",")):
        row = run(n, args.speed, args.timeout)
        print(f"{row['sessions']:>8} | {row['finished']:>8} | {row['median_s_per_year']:>13.2f} | "
              f"{row['max_s_per_year']:>12.2f} | {row['cpu_share']:>18.2f} | {row['press_s']:>20.1f} | "
              f"{row['load_s']:>17.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
