"""Concurrent sessions of the teaching app: seconds per simulated year when N tabs play at once.

One server (`python -m sim app`, the vector engine, Ouyang Road), N tabs of one headless
Chromium (Debian's /usr/bin/chromium, driven by Playwright), each on the status quo (one run)
playing at the fastest speed. For each tab: the wall time from the readout's Year 2 to Year
2 + YEARS, divided by YEARS. The browser runs on the same machine and takes its share of the CPU.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_app_sessions.py --sessions 1,10,30 --years 4
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
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
YEAR = re.compile(r"^(?:Year (\d+), month (\d+)|Start)")


def months_shown(text: str) -> int:
    """Months shown by a readout ("Year 3, month 2 · ..." -> 26; "Start" -> 0)."""
    found = YEAR.match(text)
    if not found or found.group(1) is None:
        return 0
    return (int(found.group(1)) - 1) * 12 + int(found.group(2))


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


def run(sessions: int, years: int, speed: str, timeout_s: float) -> dict:
    """Open `sessions` tabs, play them all, and time their simulated years."""
    from playwright.sync_api import sync_playwright

    port = _free_port()
    with open(os.devnull, "w") as log:
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
            for page in pages:
                page.bring_to_front()
                page.get_by_role("button", name="▶").click()
                page.get_by_role("button", name="❚❚").wait_for()
            first_seen: dict[int, tuple[float, int]] = {}
            done: dict[int, float] = {}
            target = 12 + 12 * years
            deadline = time.perf_counter() + timeout_s
            while len(done) < sessions and time.perf_counter() < deadline:
                for i, page in enumerate(pages):
                    if i in done:
                        continue
                    month = months_shown(page.locator(".estate-readout").first.inner_text())
                    now = time.perf_counter()
                    if month >= 13 and i not in first_seen:
                        first_seen[i] = (now, month)
                    if i in first_seen and month >= target and month > first_seen[i][1]:
                        start, start_month = first_seen[i]
                        done[i] = (now - start) / ((month - start_month) / 12)
                time.sleep(0.5)
                if os.environ.get("BENCH_VERBOSE"):
                    print([months_shown(p.locator(".estate-readout").first.inner_text()) for p in pages],
                          flush=True)
            cpu_share = (_cpu_seconds(server) - cpu_before) / (time.perf_counter() - wall_before)
            browser.close()
    finally:
        app.terminate()
        app.wait(timeout=60)
    per_year = sorted(done.values())
    return {"sessions": sessions, "finished": len(done), "load_s": load_s, "cpu_share": cpu_share,
            "median_s_per_year": statistics.median(per_year) if per_year else float("nan"),
            "max_s_per_year": max(per_year) if per_year else float("nan")}


def main() -> int:
    """Run the benchmark for each number of sessions and print one row each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", default="1,10,30", help="comma-separated numbers of tabs")
    parser.add_argument("--years", type=int, default=4, help="simulated years timed per tab")
    parser.add_argument("--speed", default="24", help="the speed button pressed (months a second)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds allowed for one row")
    args = parser.parse_args()
    print(f"nproc {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}; speed {args.speed} months/s; "
          f"{args.years} years timed per tab")
    print("sessions | finished | median s/year | worst s/year | server CPU (cores) | load all tabs (s)")
    for n in (int(x) for x in args.sessions.split(",")):
        row = run(n, args.years, args.speed, args.timeout)
        print(f"{row['sessions']:>8} | {row['finished']:>8} | {row['median_s_per_year']:>13.2f} | "
              f"{row['max_s_per_year']:>12.2f} | {row['cpu_share']:>18.2f} | {row['load_s']:>17.1f}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
