"""Concurrent sessions of the teaching app: the map updates each page actually shows when N pages play.

One server (`estate-sim app`'s server: the vector engine, Ouyang Road), N pages of one headless
Chromium (Debian's /usr/bin/chromium, driven by Playwright), each on the status quo (one run).
Every page watches its own map: the browser sets `data-frame` and `data-month` on the view when it
has drawn a frame (sim/app/vega_view.vue), and a MutationObserver in the page records each change
(tests/test_app_browser.py: WATCH_UPDATES). All pages press ▶ and play for `--seconds`; then, per
page: the updates it showed, the longest time it stood still (from ▶, to the end), and seconds
per simulated year as seen in the page. While they play, one more page opens and is timed until
its map is drawn ("a page opened while N play"), then
timed switching lessons twice and pressing Reset. Then all pages close, and the server's memory
is read after its sessions are culled (the cull timeout is set to CULL_S for this server), to
compare with the server fresh (when it first answers) and after one page has come and gone (the
first page loads what every page needs once), and how long after its page closed each playing
session stopped (from the server's log; the late page plays 2 s before it closes, since the others
may have reached the horizon). Each row also gives the browser's CPU (its processes
on this machine) and its CPU per map update shown, and the load average at the end of the play.
`--checkouts DIR,...` runs the same on the server of other checkouts (e.g. a git worktree of the
code before a change), after this one's, in the same invocation.

The browser runs on the same machine and takes its share of the CPU (as students' browsers would
not), so the figures are a floor for the server.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_app_sessions.py --sessions 10,30 --seconds 30
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.app.server import server_command, server_environment, start_server, stop_server  # noqa: E402
from tests.test_app_browser import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    DRAWN,
    WATCH_UPDATES,
    _cpu_seconds,
    _free_port,
    _stat_fields,
    seen_updates,
)

BACKGROUND_TABS_RUN = ["--disable-background-timer-throttling", "--disable-renderer-backgrounding",
                       "--disable-backgrounding-occluded-windows"]
"""Chromium throttles pages in the background; every page here stands for a student's front tab."""
CULL_S = 10
"""The benchmark's server drops a session this long after its page closed (the app's default is 2 min)."""
LOAD_TIMEOUT_MS = 180_000


def rss_mb(pid: int) -> float:
    """Resident memory of a process (MB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def browser_cpu_seconds(server_pid: int) -> float:
    """CPU seconds of this process's descendants but the server's (the browser and its driver)."""
    parents, times = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            fields = _stat_fields(pid)
        except OSError:  # gone meanwhile
            continue
        parents[pid] = int(fields[1])
        times[pid] = _cpu_seconds(pid, fields)
    total = 0.0
    for pid, cpu in times.items():
        ancestor = pid
        while ancestor in parents and ancestor not in (os.getpid(), server_pid, 0, 1):
            ancestor = parents[ancestor]
        if ancestor == os.getpid() and pid != os.getpid():
            total += cpu
    return total


def wait_until_up(url: str, server) -> None:
    """Return once the server answers (RuntimeError if it exits or takes more than two minutes)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("the server did not answer within 120 s")


def open_page(context, url: str):
    """A new page on the app, its map drawn; returns (page, seconds it took)."""
    start = time.perf_counter()
    page = context.new_page()
    page.goto(url, timeout=LOAD_TIMEOUT_MS)
    page.wait_for_selector(DRAWN.format("map"), timeout=LOAD_TIMEOUT_MS)
    return page, time.perf_counter() - start


def wait_for_readout(page, text: str) -> None:
    """Wait until the page's first readout starts with `text` (the month and the run it shows)."""
    page.wait_for_function("text => document.querySelector('.estate-readout').innerText.startsWith(text)",
                           arg=text, timeout=LOAD_TIMEOUT_MS)


def lesson_switches(page) -> list[float]:
    """Seconds from a lesson button's click to the page's readout naming the lesson's runs."""
    took = []
    for button, readout in (("Integrated vs status quo", "Start · integrated"),
                            ("Status quo", "Start · status quo")):
        start = time.perf_counter()
        page.get_by_role("button", name=button, exact=True).click()
        wait_for_readout(page, readout)
        took.append(time.perf_counter() - start)
    return took


def reset_time(page) -> float:
    """Seconds from Reset's click to the readout back at the start (after one Step away from it)."""
    page.get_by_role("button", name="Step", exact=True).click()
    wait_for_readout(page, "Year 1, month 1")
    start = time.perf_counter()
    page.get_by_role("button", name="Reset", exact=True).click()
    wait_for_readout(page, "Start · status quo")
    return time.perf_counter() - start


def start_checkout(port: int, checkout: Path | None):
    """The app's server from this checkout, or from another one (its own code: a before/after comparison)."""
    if checkout is None:
        return start_server("127.0.0.1", port, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    env = server_environment()
    env["PYTHONPATH"] = str(checkout)
    return subprocess.Popen(server_command("127.0.0.1", port), env=env, cwd=checkout, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def log_lines(server) -> list[tuple[float, str]]:
    """The server's log lines as they come, each with the wall-clock time it came (a reader thread)."""
    lines: list[tuple[float, str]] = []

    def read() -> None:
        for line in server.stdout:
            lines.append((time.time(), line))

    threading.Thread(target=read, daemon=True).start()
    return lines


def run(sessions: int, speed: str, seconds: float, checkout: Path | None = None) -> dict:
    """Open `sessions` pages, play them all for `seconds`, and count what each page showed."""
    from playwright.sync_api import sync_playwright

    os.environ["SOLARA_KERNEL_CULL_TIMEOUT"] = f"{CULL_S}s"
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    server = start_checkout(port, checkout)
    log = log_lines(server)
    try:
        wait_until_up(url, server)
        fresh_mb = rss_mb(server.pid)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                 args=CHROMIUM_ARGS + BACKGROUND_TABS_RUN)
            try:
                context = browser.new_context(viewport={"width": 1280, "height": 720})
                context.add_init_script(WATCH_UPDATES)
                first, first_page_s = open_page(context, url)  # what one page leaves behind, once culled
                first.close()
                time.sleep(CULL_S + 5)
                one_page_mb = rss_mb(server.pid)
                pages, loads = [], []
                for _ in range(sessions):
                    page, load_s = open_page(context, url)
                    page.locator(".estate-speed").get_by_role("button", name=speed, exact=True).click()
                    pages.append(page)
                    loads.append(load_s)
                cpu_before, wall_before = _cpu_seconds(server.pid), time.perf_counter()
                browser_before = browser_cpu_seconds(server.pid)
                starts = []
                for page in pages:  # press ▶ in every page, not waiting for the page to answer
                    starts.append(time.time())
                    page.get_by_role("button", name="▶").click(no_wait_after=True)
                time.sleep(seconds / 3)
                late, late_s = open_page(context, url)  # a student who comes late
                switch_s = lesson_switches(late)
                reset_s = reset_time(late)
                time.sleep(max(0.0, seconds - (time.perf_counter() - wall_before)))
                end = time.time()
                wall_s = time.perf_counter() - wall_before
                cpu_cores = (_cpu_seconds(server.pid) - cpu_before) / wall_s
                browser_cores = (browser_cpu_seconds(server.pid) - browser_before) / wall_s
                load = os.getloadavg()[0]
                peak_mb = rss_mb(server.pid)
                seen = [seen_updates(page, pressed, end) for page, pressed in zip(pages, starts, strict=True)]
                # the late page plays and closes (the others may have stopped at the horizon by now)
                late.get_by_role("button", name="▶").click()
                time.sleep(2)
                closed = time.time()
                late.close()
                context.close()
            finally:
                browser.close()
        time.sleep(CULL_S + 5)  # every page gone: the sessions are culled
        culled_mb = rss_mb(server.pid)
        # each playing session logs its stop: how long after its page closed (all close at `closed`)
        stops = [at - closed for at, line in list(log) if "(page closed)" in line and at >= closed]
    finally:
        stop_server(server)
    rates = [r["updates"] / (end - pressed) for r, pressed in zip(seen, starts, strict=True)]
    per_year = [r["s_per_year"] for r in seen if r["s_per_year"] == r["s_per_year"]]
    return {"sessions": sessions, "updates_per_s": statistics.median(rates),
            "worst_updates_per_s": min(rates),
            "worst_gap_s": max(r["max_gap_s"] for r in seen),
            "first_s": statistics.median(r["first_s"] for r in seen),
            "worst_first_s": max(r["first_s"] for r in seen),
            "median_s_per_year": statistics.median(per_year) if per_year else float("nan"),
            "worst_s_per_year": max(per_year) if per_year else float("nan"),
            "stood_still": sum(r["updates"] == 0 for r in seen), "cpu_cores": cpu_cores,
            "browser_cores": browser_cores, "load": load,
            "browser_ms_per_update": 1000 * browser_cores * wall_s / max(1, sum(r["updates"] for r in seen)),
            "load_s": statistics.median(loads), "late_s": late_s, "switch_s": max(switch_s),
            "reset_s": reset_s, "first_page_s": first_page_s,
            "stopped": len(stops), "worst_stop_s": max(stops, default=float("nan")),
            "fresh_mb": fresh_mb, "one_page_mb": one_page_mb, "peak_mb": peak_mb, "culled_mb": culled_mb}


def main() -> int:
    """Run the benchmark for each number of pages and print one row each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", default="10,30", help="comma-separated numbers of pages")
    parser.add_argument("--speed", default="12", help="the speed button pressed (months a second)")
    parser.add_argument("--seconds", type=float, default=30, help="seconds every page plays")
    parser.add_argument("--checkouts", default="",
                        help="comma-separated other checkouts whose server to run too, each after this one's "
                             "for every number of pages (e.g. a git worktree of the code before a change)")
    args = parser.parse_args()
    print(f"nproc {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}; speed {args.speed} months/s "
          f"(ideal: {12 / float(args.speed):.2f} s a year); each page plays {args.seconds:.0f} s")
    print("pages | map updates/s per page (median, worst) | longest still (s) | s/year seen (median, worst)"
          " | first update after ▶ (s, median, worst) | pages never updated | server CPU (cores)"
          " | browser CPU (cores; ms per map update) | load average at the end"
          " | page load (s, median) | late page (s)"
          " | lesson switch (s, worst of 2) | Reset (s)"
          " | first page (s) | server MB fresh / after one page culled / peak / after cull"
          " | closed pages' play stopped (count, worst s after closing)")
    checkouts = [None, *(Path(c).resolve() for c in args.checkouts.split(",") if c)]
    for n, checkout in itertools.product((int(x) for x in args.sessions.split(",")), checkouts):
        r = run(n, args.speed, args.seconds, checkout)
        where = "" if checkout is None else f" ({checkout})"
        print(f"{r['sessions']:>5}{where} | {r['updates_per_s']:.2f}, {r['worst_updates_per_s']:.2f} | "
              f"{r['worst_gap_s']:.1f} | {r['median_s_per_year']:.2f}, {r['worst_s_per_year']:.2f} | "
              f"{r['first_s']:.1f}, {r['worst_first_s']:.1f} | "
              f"{r['stood_still']} | {r['cpu_cores']:.2f} | {r['browser_cores']:.2f}; "
              f"{r['browser_ms_per_update']:.0f} | {r['load']:.1f} | {r['load_s']:.1f} | {r['late_s']:.1f} | "
              f"{r['switch_s']:.1f} | {r['reset_s']:.1f} | "
              f"{r['first_page_s']:.1f} | {r['fresh_mb']:.0f} / {r['one_page_mb']:.0f} / "
              f"{r['peak_mb']:.0f} / {r['culled_mb']:.0f} | {r['stopped']}, {r['worst_stop_s']:.1f}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
