"""The teaching app in a real browser: Debian's Chromium, headless, driven by Playwright.

The server is started the way a teacher starts it (`python -m sim app --port N`) on a free port.
The browser test needs /usr/bin/chromium (`make browser-deps`); without it it is SKIPPED, loudly.
Timings of each step on Ouyang Road are printed (run with -s to see them), never asserted.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from sim.app.server import server_environment

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
STARTUP_TIMEOUT_S = 90
STEP_TIMEOUT_MS = 60_000


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _listening_addresses(port: int) -> set[str]:
    """Local addresses with a listening TCP socket on this port (Linux /proc/net)."""
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        if not os.path.exists(table):
            continue
        with open(table) as rows:
            next(rows)
            for row in rows:
                fields = row.split()
                address, port_hex = fields[1].split(":")
                if fields[3] == "0A" and int(port_hex, 16) == port and len(address) == width:
                    found.add(address)
    return found


@pytest.fixture(scope="module")
def app_server(tmp_path_factory):
    """`python -m sim app --port N` (no --host) in a child process; yields (url, port, log)."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("app") / "server.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen([sys.executable, "-m", "sim", "app", "--port", str(port)],
                                  cwd=ROOT, env=server_environment(), stdout=log,
                                  stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    try:
        while True:
            if server.poll() is not None:
                pytest.fail(f"the app server exited with {server.returncode}:\n{log_path.read_text()}")
            try:
                with urllib.request.urlopen(url, timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the app server did not answer within {STARTUP_TIMEOUT_S} s:\n"
                            f"{log_path.read_text()}")
            time.sleep(0.5)
        yield url, port, log_path
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.mark.slow
def test_app_command_serves_on_loopback_only_by_default(app_server):
    url, port, log_path = app_server
    assert f"open http://127.0.0.1:{port}" in log_path.read_text()
    addresses = _listening_addresses(port)
    if not addresses:
        pytest.skip("cannot read listening sockets from /proc/net on this system")
    loopback = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1 and ::1
    assert addresses <= loopback, f"the app listens on {addresses}, not only on loopback"


def _browser_or_skip():
    message = None
    if not CHROMIUM.exists():
        message = (f"{CHROMIUM} is missing: THE BROWSER TEST IS SKIPPED. Install it with "
                   "`apt-get install chromium` (or `make browser-deps`).")
    else:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            message = "playwright is not installed: THE BROWSER TEST IS SKIPPED (pip install playwright)."
    if message:
        print("\n" + "!" * 78 + f"\n{message}\n" + "!" * 78, file=sys.stderr)
        pytest.skip(message)
    return sync_playwright


def _assets_or_skip():
    """Solara's page loads its JavaScript through a CDN proxy; offline it needs a local copy."""
    from sim.app.assets import main as fetch_assets
    from sim.app.assets import missing_packages

    if missing_packages() and fetch_assets([]) != 0:
        message = ("Solara's web assets are missing and could not be fetched with npm "
                   "(`python -m sim.app.assets`): THE BROWSER TEST IS SKIPPED.")
        print("\n" + "!" * 78 + f"\n{message}\n" + "!" * 78, file=sys.stderr)
        pytest.skip(message)


def _readout(page) -> str:
    return " | ".join(page.locator(".estate-readout").all_inner_texts())


def _wait_for_new_readout(page, before: str) -> str:
    page.wait_for_function(
        "before => Array.from(document.querySelectorAll('.estate-readout'))"
        ".map(e => e.innerText).join(' | ') !== before", arg=before, timeout=STEP_TIMEOUT_MS)
    return _readout(page)


def _step(page) -> float:
    """Press Step; seconds until the readout and the map show the next month."""
    before_text = _readout(page)
    before_map = page.locator("img.estate-map").first.get_attribute("src")
    start = time.perf_counter()
    page.get_by_role("button", name="Step").click()
    _wait_for_new_readout(page, before_text)
    page.wait_for_function(
        "before => document.querySelector('img.estate-map').getAttribute('src') !== before",
        arg=before_map, timeout=STEP_TIMEOUT_MS)
    page.locator("img.estate-map").first.evaluate(
        "img => img.complete ? true : new Promise(done => img.onload = () => done(true))")
    return time.perf_counter() - start


def _reset(page) -> None:
    before = _readout(page)
    page.get_by_role("button", name="Reset").click()
    _wait_for_new_readout(page, before)


@pytest.mark.browser
@pytest.mark.slow
def test_app_in_browser_steps_switches_policy_and_resets(app_server):
    sync_playwright = _browser_or_skip()
    _assets_or_skip()
    url, _, log_path = app_server
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1300})
        failed = []
        page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        start = time.perf_counter()
        page.goto(url)
        page.wait_for_selector("img.estate-map", timeout=STEP_TIMEOUT_MS)
        page.wait_for_selector("img.estate-charts", timeout=STEP_TIMEOUT_MS)
        load_s = time.perf_counter() - start
        assert _readout(page).startswith("Start · integrated")
        assert not failed, f"requests failed: {failed}"

        map_before = page.locator("img.estate-map").screenshot()
        charts_before = page.locator("img.estate-charts").screenshot()
        step_s = [_step(page) for _ in range(4)]
        assert _readout(page).startswith("Year 1, month 4 · integrated")
        assert page.locator("img.estate-map").screenshot() != map_before, "the map did not change"
        assert page.locator("img.estate-charts").screenshot() != charts_before, \
            "the charts did not change"
        events = page.locator(".estate-events").inner_text()
        assert "Year 1, month 1" in events and "Merger of" in events
        page.screenshot(path=ARTIFACTS / "app_integrated.png", full_page=True)

        # play, then pause: months go by on their own, then stop
        page.get_by_role("button", name="▶").click()
        page.wait_for_function(
            "() => /Year 1, month ([6-9]|1[0-2])|Year [2-9]/.test("
            "document.querySelector('.estate-readout').innerText)", timeout=STEP_TIMEOUT_MS)
        page.get_by_role("button", name="❚❚").click()
        page.get_by_role("button", name="Step").wait_for(state="visible")
        page.wait_for_timeout(1500)
        paused_at = _readout(page)
        page.wait_for_timeout(1500)
        assert _readout(page) == paused_at, "the model kept running after pause"

        coloured_by_quality = page.locator("img.estate-map").get_attribute("src")
        page.get_by_role("button", name="management mode").click()
        page.wait_for_function(
            "before => document.querySelector('img.estate-map').getAttribute('src') !== before",
            arg=coloured_by_quality, timeout=STEP_TIMEOUT_MS)

        # a policy switch: merger off, side by side with the status quo, then Reset
        page.get_by_label("N-in-1 merger").uncheck()
        page.locator(".v-select", has_text="Compare with").click()
        page.get_by_role("option", name="status quo").click()
        _reset(page)
        readout = page.locator(".estate-readout").all_inner_texts()
        assert len(readout) == 2, readout
        assert readout[0].startswith("Start · custom: entrust + self governance + block integration")
        assert readout[1].startswith("Start · status quo")
        assert page.locator("img.estate-map").count() == 2
        pair_s = [_step(page) for _ in range(2)]
        page.screenshot(path=ARTIFACTS / "app_side_by_side.png", full_page=True)

        page.get_by_role("tab", name="About this model").click()
        page.get_by_text("THINGS TO TRY").wait_for()
        assert "docs/ODD.md" in page.locator(".estate-about").inner_text()
        page.screenshot(path=ARTIFACTS / "app_about.png", full_page=True)
        browser.close()
    print(f"\napp: first page load {load_s:.2f} s; one Ouyang Road step (model + map + charts, "
          f"to pixels in the browser): {', '.join(f'{s:.2f}' for s in step_s)} s "
          f"(mean {sum(step_s) / len(step_s):.2f} s); side by side: "
          f"{', '.join(f'{s:.2f}' for s in pair_s)} s")
    assert "Traceback" not in log_path.read_text(), log_path.read_text()
