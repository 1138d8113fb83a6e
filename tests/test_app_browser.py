"""The teaching app in a real browser: Debian's Chromium, headless, driven by Playwright.

The server is started the way a teacher starts it (`python -m sim app --port N`) on a free port.
The browser tests need /usr/bin/chromium (`make browser-deps`); without it they are SKIPPED,
loudly. Screenshots at 1280x720 and 1024x768 (a projector) are saved under test-artifacts/app/
(ignored by git). Timings are printed (run with -s to see them), never asserted.
"""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from sim.app.controls import LESSON_PRESETS
from sim.app.server import server_environment

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "app"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
STARTUP_TIMEOUT_S = 90
STEP_TIMEOUT_MS = 60_000
IDLE_CPU_SHARE = 0.10
"""A server with no session playing uses less than this share of one core."""


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


def _server_pid(app_pid: int) -> int | None:
    """The Solara server: the child of `estate-sim app`."""
    try:
        children = Path(f"/proc/{app_pid}/task/{app_pid}/children").read_text().split()
    except OSError:
        return None
    return int(children[0]) if children else None


def _stat_fields(pid: int) -> list[str]:
    """/proc/PID/stat's fields after the command's name: state, parent pid, ..."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _cpu_seconds(pid: int, fields: list[str] | None = None) -> float:
    """A process's user and system CPU seconds (from its `_stat_fields`, read here if not given)."""
    fields = _stat_fields(pid) if fields is None else fields
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_share(pid: int, seconds: float = 2.0) -> float:
    """Share of one core the process used over the next `seconds`."""
    before = _cpu_seconds(pid)
    time.sleep(seconds)
    return (_cpu_seconds(pid) - before) / seconds


@pytest.fixture(scope="module")
def app_server(tmp_path_factory):
    """`python -m sim app --port N` (no --host) in a child process; yields (url, port, log, app pid)."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("app") / "server.log"
    with open(log_path, "w") as log:
        app = subprocess.Popen([sys.executable, "-m", "sim", "app", "--port", str(port)],
                               cwd=ROOT, env=server_environment(), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    try:
        while True:
            if app.poll() is not None:
                pytest.fail(f"the app server exited with {app.returncode}:\n{log_path.read_text()}")
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
        yield url, port, log_path, app.pid
    finally:
        app.terminate()  # SIGTERM: `estate-sim app` stops its server's process group
        try:
            app.wait(timeout=30)
        except subprocess.TimeoutExpired:
            app.kill()
            app.wait()


@pytest.mark.slow
def test_app_command_serves_on_loopback_only_by_default(app_server):
    url, port, log_path, _ = app_server
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


@pytest.fixture(scope="module")
def browser(app_server):
    """One headless Chromium for the module's tests."""
    sync_playwright = _browser_or_skip()
    _assets_or_skip()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _open(browser, url: str, width: int = 1280, height: int = 720):
    """A new tab on the app, loaded; returns (page, failed requests and console errors, requests to
    other hosts)."""
    page = browser.new_page(viewport={"width": width, "height": height}, accept_downloads=True)
    failed, foreign = [], []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.on("console", lambda m: failed.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    local = ("data:", "blob:", url)
    page.on("request", lambda r: foreign.append(r.url) if not r.url.startswith(local) else None)
    page.goto(url)
    _wait_for_drawing(page)
    return page, failed, foreign


DRAWN = ".estate-vega[data-kind={}] .estate-vega-plot:not([data-frame='-1'])"
"""A map or charts view that the browser has drawn with the server's data (vega_view.vue)."""


def _wait_for_drawing(page) -> None:
    page.wait_for_selector(DRAWN.format("map") + " canvas", timeout=STEP_TIMEOUT_MS)
    page.wait_for_selector(DRAWN.format("charts") + " canvas", timeout=STEP_TIMEOUT_MS)


WATCH_UPDATES = """
window.__updates = [];
new MutationObserver(records => {
  for (const r of records) {
    const plot = r.target;
    if (!plot.classList || !plot.classList.contains('estate-vega-plot')) continue;
    const view = plot.closest('.estate-vega');
    window.__updates.push([Date.now() / 1000, view ? view.dataset.kind : '',
                           Number(plot.dataset.frame), Number(plot.dataset.month)]);
  }
}).observe(document, {attributes: true, attributeFilter: ['data-frame'], subtree: true});
"""
"""Init script: every map/charts update the page shows, as [wall-clock seconds, view, frame, month]."""


def seen_updates(page, since_s: float, until_s: float, kind: str = "map") -> dict:
    """What one page showed between two wall-clock times (time.time()): updates, longest gap, s a year.

    The longest gap counts from `since_s` (play pressed) to `until_s` (the end of the window).
    Seconds a year is the time between the first and the last update over the months they advanced.
    """
    rows = [r for r in page.evaluate("() => window.__updates || []")
            if r[1] == kind and since_s <= r[0] <= until_s]
    times = [since_s, *[r[0] for r in rows], until_s]
    months = [r[3] for r in rows]
    per_year = ((rows[-1][0] - rows[0][0]) / ((months[-1] - months[0]) / 12)
                if len(rows) > 1 and months[-1] > months[0] else float("nan"))
    return {"updates": len(rows), "months": (months[-1] - months[0]) if rows else 0,
            "last_month": months[-1] if rows else 0,
            "max_gap_s": max(b - a for a, b in itertools.pairwise(times)), "s_per_year": per_year,
            "first_s": times[1] - since_s}


def _no_horizontal_scroll(page) -> None:
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"the page is {width[0]} px wide in a {width[1]} px window"


def _map_fits_the_window(page) -> None:
    box = page.locator(".estate-vega[data-kind=map] canvas").first.bounding_box()
    height = page.evaluate("() => window.innerHeight")
    assert box["y"] >= 0 and box["y"] + box["height"] <= height + 1, (box, height)


MARK_AT = """(plot, text) => {
  const view = plot.vegaView;
  const found = [];
  const visit = (item, x, y) => {
    const mark = item.mark;
    if (mark && mark.marktype === "symbol" && item.datum && String(item.datum.card_0 || "").includes(text)) {
      found.push([x + item.x, y + item.y]);
    }
    const inner = mark && mark.marktype === "group" ? [x + (item.x || 0), y + (item.y || 0)] : [x, y];
    for (const child of item.items || []) { visit(child, ...inner); }
  };
  visit(view.scenegraph().root, ...view.origin());
  const box = plot.querySelector("canvas").getBoundingClientRect();
  return found.length ? [box.left + found[0][0], box.top + found[0][1]] : null;
}"""
"""Page coordinates of the first estate dot on the map whose hover card names `text` (the map is a canvas)."""


def _map_estate_at(page, text: str) -> tuple[float, float]:
    where = page.locator(".estate-vega[data-kind=map] .estate-vega-plot").evaluate(MARK_AT, text)
    assert where, f"no estate {text!r} on the map"
    return where[0], where[1]


def _readout(page) -> str:
    return " | ".join(page.locator(".estate-readout").all_inner_texts())


def _wait_for_readout(page, pattern: str) -> str:
    """Wait until the readout matches a regular expression; return it."""
    page.wait_for_function(
        "pattern => new RegExp(pattern).test(Array.from(document.querySelectorAll('.estate-readout'))"
        ".map(e => e.innerText).join(' | '))", arg=pattern, timeout=STEP_TIMEOUT_MS)
    return _readout(page)


ALLOWED_IN_CHINESE = {"English", "PNG", "CSV", "Mesa", "ODD", "docs", "md"}
"""Words the Chinese page may show: the language switch, file formats and the engine's name."""


CITED_NAMES = {"Fischbacher", "chter", "Fehr", "Kazil", "Solara"}
"""Authors and software the About tab cites by name (Gächter: its letters after the umlaut)."""


def _text_outside_code(page) -> str:
    """The page's text without its code spans (file columns, commands and paths stay as written)."""
    return page.evaluate("() => { const code = Array.from(document.querySelectorAll('code'));"
                         " code.forEach(c => c.style.display = 'none'); const text = document.body.innerText;"
                         " code.forEach(c => c.style.display = ''); return text; }")


def _english_words(text: str) -> set[str]:
    """Latin words of three letters or more, less the allowlist and the district's own names."""
    import re

    from sim.app.model import build_scenario

    estates = build_scenario("ouyang_road").load_district().estates
    names = {w for value in [*estates["estate_id"], *estates["block"]]
             for w in re.findall(r"[A-Za-z]+", str(value))}
    allowed = {w.lower() for w in ALLOWED_IN_CHINESE | names}  # buttons show some in capitals
    return {w for w in re.findall(r"[A-Za-z]{3,}", text) if w.lower() not in allowed}


PRESET_RUNS = {
    "Status quo": "Start · status quo:",
    "Integrated vs status quo": "Start · integrated: .* \\| Start · status quo:",
    "Group A: N-in-1 merger": "Start · N-in-1 merger: .* \\| Start · status quo:",
    "Group B: strong leads weak": "Start · strong leads weak: .* \\| Start · status quo:",
    "Group C: self-governance": "Start · self-governance: .* \\| Start · status quo:",
    "Group D: block integration": "Start · block integration: .* \\| Start · status quo:",
    "Harder votes": "^Start · integrated: [^|]*$",
    "Fund dispute": "^Start · integrated: [^|]*$",
    "Tired volunteers": "^Start · self-governance: [^|]*$",
}


@pytest.mark.browser
@pytest.mark.slow
def test_presets_inspection_hint_export_language_and_screenshots(app_server, browser):
    url, _, log_path, _ = app_server
    assert set(PRESET_RUNS) == set(LESSON_PRESETS)
    start = time.perf_counter()
    page, failed, foreign = _open(browser, url, 1280, 720)
    load_s = time.perf_counter() - start
    assert _readout(page).startswith("Start · status quo"), "the page does not open on the status quo"
    page.screenshot(path=ARTIFACTS / "app_1280x720_status_quo.png")

    # every preset: one click sets up that part of the lesson
    for name, expected in PRESET_RUNS.items():
        page.get_by_role("button", name=name, exact=True).click()
        _wait_for_readout(page, expected)
    page.get_by_role("button", name="Integrated vs status quo", exact=True).click()
    _wait_for_readout(page, "Start · integrated: .* \\| Start · status quo:")
    step_start = time.perf_counter()
    page.get_by_role("button", name="Step", exact=True).click()
    _wait_for_readout(page, "^Year 1, month 1 · integrated")
    step_s = time.perf_counter() - step_start
    page.wait_for_selector(DRAWN.format("map") + "[data-frame='1'] canvas", timeout=STEP_TIMEOUT_MS)
    _no_horizontal_scroll(page)
    _map_fits_the_window(page)
    page.screenshot(path=ARTIFACTS / "app_1280x720_side_by_side.png")

    # inspection: hovering an estate shows its card (drawn by the browser, no round trip)
    page.mouse.move(*_map_estate_at(page, "Hongyi ("))
    card = page.locator("#vg-tooltip-element")
    card.wait_for(state="visible")
    text = card.inner_text()
    for words in ("Hongyi", "households", "after-sale public housing", "firm", "mode", "fund per m²",
                  "owners' committee", "satisfaction"):
        assert words in text, (words, text)
    assert "after_sale_public" not in text
    page.screenshot(path=ARTIFACTS / "app_1280x720_inspect.png")

    # tiles and events: worksheet measures with differences; vote shares on failed mergers
    tiles = page.locator(".estate-tiles").inner_text()
    for label in ("Residents' committee workload", "Quality, estates < 100 households", "Maintenance fund"):
        assert label in tiles
    assert "integrated − status quo" in tiles
    events = page.locator(".estate-events").first.inner_text()
    assert "Year 1:" in events and "proposed; briefings begin" in events
    # a merger's owners vote after three months of briefings: month 4
    for month in (2, 3, 4):
        page.get_by_role("button", name="Step", exact=True).click()
        _wait_for_readout(page, f"^Year 1, month {month} · integrated")
    # the list and its vote lines are their own element: they may arrive after the summary
    page.wait_for_function("() => document.querySelector('.estate-events-list')"
                           ".innerText.includes(\"failed its owners' vote\")")
    events = page.locator(".estate-events").first.inner_text()
    assert "failed its owners' vote" in events and "turnout" in events
    assert "said no" in events or "of owners: no vote" in events or "floor area" in events
    assert "Notable" in events

    # a changed control shows the hint until Reset
    page.get_by_role("button", name="☰ Controls").click()
    page.get_by_label("N-in-1 merger", exact=True).uncheck()
    hint = page.get_by_text("Changes not applied — press Reset")
    hint.wait_for(state="visible")
    page.get_by_role("button", name="Reset", exact=True).click()
    _wait_for_readout(page, "^Start · management merger & strong leads weak & self-governance & "
                            "block integration")
    hint.wait_for(state="hidden")
    page.get_by_role("button", name="✕ Hide controls").click()

    # export: CSV of the time series and events, PNG of the map and charts
    page.get_by_role("button", name="Step", exact=True).click()
    _wait_for_readout(page, "^Year 1, month 1")
    def with_setup(header: bytes):
        return lambda b: b.startswith(b"# Lesson: own settings") and b"# Runs: " in b and header in b

    for label, check in (("Time series (CSV)", with_setup(b"\nrun,month,service_quality")),
                         ("Events (CSV)", with_setup(b"\nrun,month,when,kind,text,votes")),
                         ("Map (PNG)", lambda b: b.startswith(b"\x89PNG")),
                         ("Charts (PNG)", lambda b: b.startswith(b"\x89PNG"))):
        with page.expect_download() as download:
            page.get_by_role("button", name=label).click()
        data = Path(download.value.path()).read_bytes()
        assert check(data), (label, data[:40])

    # a projector: the map takes most of the width, nothing covers it
    page.set_viewport_size({"width": 1024, "height": 768})
    page.get_by_role("button", name="Status quo", exact=True).click()
    _wait_for_readout(page, "^Start · status quo: [^|]*$")
    page.wait_for_timeout(500)  # the map re-fits to the new window
    _no_horizontal_scroll(page)
    _map_fits_the_window(page)
    page.screenshot(path=ARTIFACTS / "app_1024x768_status_quo.png")

    # Chinese: no English word on the page outside the allowlist (units, codes, the district's names)
    page.get_by_role("button", name="中文").click()
    page.get_by_role("button", name="现状", exact=True).wait_for()
    page.wait_for_timeout(1000)
    _no_horizontal_scroll(page)
    english = _english_words(page.locator("body").inner_text())
    assert not english, f"untranslated on the Chinese page: {sorted(english)[:30]}"
    page.screenshot(path=ARTIFACTS / "app_1024x768_zh.png")
    for tab, marker in (("你自己的街区", "每个小区一行"), ("关于模型", "可以尝试的事")):
        page.get_by_role("tab", name=tab).click()
        page.get_by_text(marker).first.wait_for()
        english = _english_words(_text_outside_code(page)) - CITED_NAMES
        assert not english, f"untranslated on the Chinese {tab} tab: {sorted(english)[:30]}"
    page.get_by_role("tab", name="街区", exact=True).click()
    page.get_by_role("button", name="English").click()
    page.get_by_role("tab", name="About this model").click()
    page.get_by_text("THINGS TO TRY").wait_for()
    page.get_by_role("button", name="Show the full model description (docs/ODD.md)").click()
    page.locator(".estate-markdown .estate-math svg").nth(50).wait_for(state="attached")
    assert "$\\mathrm{clip}" not in page.locator(".estate-markdown").last.inner_text()
    page.screenshot(path=ARTIFACTS / "app_1024x768_about.png")

    # dark mode: the page still reads (labels light on dark)
    page.get_by_role("tab", name="District", exact=True).click()
    page.locator(".estate-vega[data-kind=map] canvas").wait_for(state="visible")
    page.locator(".v-btn", has=page.locator(".mdi-brightness-auto, .mdi-brightness-4, "
                                            ".mdi-brightness-7")).first.click()
    page.wait_for_timeout(800)  # Vuetify's colour transition
    colours = page.locator(".estate-speed .v-btn").first.evaluate(
        "b => [getComputedStyle(b).backgroundColor, getComputedStyle(b).color]")
    assert colours[0] != colours[1], colours
    page.screenshot(path=ARTIFACTS / "app_1024x768_dark.png")
    page.close()

    assert not failed, f"requests failed: {failed}"
    assert not foreign, f"the page asked other hosts: {foreign[:5]}"
    log = log_path.read_text()
    assert "Traceback" not in log and "Could not load URL" not in log and "Warning" not in log, log
    print(f"\napp: first page load {load_s:.2f} s; one side-by-side step to the browser {step_s:.2f} s")


SMOKE_PAGES = 5
SMOKE_PLAY_S = 8.0


@pytest.mark.browser
@pytest.mark.slow
def test_five_pages_playing_at_once_each_show_new_months(app_server, browser):
    """The 5-page smoke test of benchmarks/bench_app_sessions.py: every page sees its map change."""
    url = app_server[0]
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    try:
        context.add_init_script(WATCH_UPDATES)
        pages = []
        for _ in range(SMOKE_PAGES):
            page = context.new_page()
            page.goto(url)
            _wait_for_drawing(page)
            pages.append(page)
        start = time.time()
        for page in pages:
            page.get_by_role("button", name="▶").click(no_wait_after=True)
        time.sleep(SMOKE_PLAY_S)
        end = time.time()
        seen = [seen_updates(page, start, end) for page in pages]
        for page in pages:
            page.get_by_role("button", name="❚❚").click()
    finally:
        context.close()
    # 12 months a second for 8 s: each page shows several new months, none stands still for long
    for row in seen:
        assert row["updates"] >= 3 and row["months"] >= 12, seen
        assert row["max_gap_s"] < SMOKE_PLAY_S / 2, seen
    print("\napp: 5 pages playing, updates seen " + ", ".join(
        f"{r['updates']} (to month {r['last_month']}, longest gap {r['max_gap_s']:.1f} s)" for r in seen))


@pytest.mark.browser
@pytest.mark.slow
def test_ten_seeds_run_in_the_background_while_another_page_plays(app_server, browser):
    url = app_server[0]
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        context.add_init_script(WATCH_UPDATES)
        seeds = context.new_page()
        seeds.goto(url)
        _wait_for_drawing(seeds)
        seeds.get_by_role("button", name="Integrated vs status quo", exact=True).click()
        _wait_for_readout(seeds, "Start · integrated: .* \\| Start · status quo:")
        player = context.new_page()
        player.goto(url)
        _wait_for_drawing(player)
        seeds.get_by_role("button", name="Run 10 seeds").click()
        seeds.get_by_text("0 of 10 seeds done").wait_for()
        start = time.time()
        player.get_by_role("button", name="▶").click()
        time.sleep(SMOKE_PLAY_S)
        seen = seen_updates(player, start, time.time())
        player.get_by_role("button", name="❚❚").click()
        table = seeds.locator(".estate-spread")
        table.wait_for(timeout=240_000)
        seeds.get_by_text("10 of 10 seeds done").wait_for(timeout=240_000)
        text = table.inner_text()
    finally:
        context.close()
    # the other page kept showing new months while the seeds ran
    assert seen["updates"] >= 3 and seen["max_gap_s"] < SMOKE_PLAY_S / 2, seen
    for words in ("integrated", "status quo", "difference", "Management areas", "/10"):
        assert words in text, text
    print(f"\napp: a page played while 10 seeds ran: {seen['updates']} updates in {SMOKE_PLAY_S:.0f} s, "
          f"longest gap {seen['max_gap_s']:.1f} s")


@pytest.mark.browser
@pytest.mark.slow
def test_play_stops_at_the_horizon(app_server, browser):
    url, _, log_path, _ = app_server
    page, _, _ = _open(browser, url)
    page.locator(".estate-speed").get_by_role("button", name="24", exact=True).click()
    start = time.perf_counter()
    page.get_by_role("button", name="▶").click()
    page.get_by_text("Stopped at the horizon").wait_for(timeout=120_000)
    played_s = time.perf_counter() - start
    assert _readout(page).startswith("Year 20, month 12 · status quo")
    assert page.get_by_role("button", name="▶").is_disabled()
    assert page.get_by_role("button", name="Step", exact=True).is_disabled()
    page.wait_for_timeout(1000)
    assert _readout(page).startswith("Year 20, month 12"), "the model stepped past its horizon"
    page.close()
    assert "stopped playing at Year 20, month 12 (horizon)" in log_path.read_text()
    print(f"\napp: 20 years played in {played_s:.1f} s at 24 months a second")


@pytest.mark.browser
@pytest.mark.slow
def test_closing_a_playing_tab_stops_the_server_stepping(app_server, browser):
    url, _, log_path, app_pid = app_server
    server = _server_pid(app_pid)
    if server is None or not Path(f"/proc/{server}/stat").exists():
        pytest.skip("cannot find the server process in /proc")
    page, _, _ = _open(browser, url)
    earlier = len(log_path.read_text())  # other tests' sessions stopped before this one
    page.locator(".estate-speed").get_by_role("button", name="6", exact=True).click()
    page.get_by_role("button", name="Integrated vs status quo", exact=True).click()
    _wait_for_readout(page, "Start · integrated")
    page.get_by_role("button", name="▶").click()
    _wait_for_readout(page, "^Year 1, month ([3-9]|1[0-2])")
    playing_share = _cpu_share(server)
    page.close()  # the tab closes while the model plays
    deadline = time.monotonic() + 30
    while "(page closed)" not in log_path.read_text()[earlier:] and time.monotonic() < deadline:
        time.sleep(0.25)
    log = log_path.read_text()[earlier:]
    assert "(page closed)" in log, "the server kept playing after the tab closed"
    stopped_at = log.rsplit("stopped playing at ", 1)[1].split(" (page closed)")[0]
    assert not stopped_at.startswith("Year 20"), "play ran to the horizon instead of stopping"
    shares = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        shares.append(_cpu_share(server))
        if shares[-1] < IDLE_CPU_SHARE:
            break
    assert shares[-1] < IDLE_CPU_SHARE, f"CPU after closing: {shares} (playing: {playing_share:.2f})"
    print(f"\napp: server CPU while playing {playing_share:.0%} of a core; after the tab closed "
          f"{', '.join(f'{s:.0%}' for s in shares)} (stopped at {stopped_at})")
