"""`estate-sim report RESULTS`: one self-contained HTML file of a sweep's policy comparison.

The file embeds the comparison's figures (PNG, base64), its table, and the provenance of the
results: the sweep's SHA-256 and its resolved content, the seeds, the package version and git
commit, the engine, run times and every failed run with its error. It needs nothing else to be
read (no scripts, no external files); the figures, in PNG and SVG, and the CSV tables are
written next to it.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from analysis.compare import (
    DEFAULT_METRICS,
    DESIGN_POINT_NOTE,
    RANKING_NOTE,
    SAVED,
    SAVED_DIR,
    Comparison,
    compare_results,
    comparison_key,
    design_point_wide,
    interval_text,
    load_comparison,
    methods_text,
    number_text,
    print_failures,
    ranking_wide,
    save_comparison,
    write_comparison,
)
from analysis.conclusions import conclusions_display, conclusions_note
from analysis.drawing import FigureHelper
from analysis.style import group_label, metric_title, metric_unit
from sim import __version__
from sim.experiments.store import git_commit
from sim.fonts import CSS_FONT_FAMILY
from sim.text import plural

FIGURES = {
    "timeseries": "Time series: mean over runs and the 95% CI of the mean",
    "final_distributions": "Final values (mean of the last 12 months), one point per run",
    "paired_differences": "Paired differences from the baseline (95% BCa bootstrap CI)",
    "differences_by_area_size": "Paired differences by management-area size",
    "differences_by_housing_type": "Paired differences by housing type",
    "ranking": "Probability that each policy beats each other one, paired run by run",
    "differences_under_uncertainty": "Paired differences from the baseline: 90% intervals over seeds "
                                     "and, with several design points (parameter sets), over them × "
                                     "seeds",
}
SEED_ROWS = 50
"""Seeds and design points listed in the report (the rest are in the results folder)."""
STYLE = """
body { font-family: FONTS; max-width: 1200px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; border: 1px solid #eee; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
.failed { color: #b00020; font-weight: bold; }
""".replace("FONTS", CSS_FONT_FAMILY)
"""The page's style; its fonts have Chinese glyphs where the reader's system has them."""


def _e(value) -> str:
    return html.escape(str(value))


def _table(frame: pd.DataFrame, numeric: Sequence[str] = ()) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in frame.columns)
    rows = []
    for _, row in frame.iterrows():
        cells = "".join(f'<td class="num">{_e(row[c])}</td>' if c in numeric else f"<td>{_e(row[c])}</td>"
                        for c in frame.columns)
        rows.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _summary_table(comparison: Comparison, summary: pd.DataFrame, groups: Sequence[str] = ()) -> str:
    failures = comparison.failures
    difference = f"Δ vs {comparison.label(comparison.baseline)} [95% CI]"
    rows = []
    for _, row in summary.iterrows():
        name = row["scenario"]
        is_baseline = name == comparison.baseline
        out = {g: group_label(row[g]) for g in groups}
        out.update({
            "metric": f"{metric_title(row['metric'])} ({metric_unit(row['metric'])})",
            "policy": comparison.label(name),
            "runs ok / failed": f"{failures.loc[name, 'ok']} / {failures.loc[name, 'failed']}",
            "mean [95% CI]": interval_text(row, ""),
            "2.5–97.5% of runs": f"{number_text(row['p2.5'])} – {number_text(row['p97.5'])}",
            difference: "(baseline)" if is_baseline else interval_text(row, "diff_"),
            "pairs (unpaired)": "" if is_baseline else f"{row['pairs']} ({row['unpaired']})",
        })
        rows.append(out)
    return _table(pd.DataFrame(rows), numeric=("mean [95% CI]", "2.5–97.5% of runs", difference))


def _provenance(comparison: Comparison) -> str:
    manifest = comparison.manifest
    runs = comparison.runs
    facts = [
        ("Results folder", comparison.folder.resolve()),
        ("Sweep file SHA-256", manifest.get("sweep_sha256")),
        ("Resolved sweep SHA-256", manifest.get("resolved_sha256")),
        ("Engine", manifest.get("engine")),
        ("Package version (sweep)", manifest.get("package_version")),
        ("Git commit (sweep)", manifest.get("git_commit")),
        ("Created", manifest.get("created")),
        ("Root seed", manifest.get("sweep", {}).get("seed")),
        ("Package version (report)", __version__),
        ("Git commit (report)", git_commit()),
        ("Report made", dt.datetime.now(dt.UTC).isoformat(timespec="seconds")),
    ]
    parts = ["<h2>Provenance</h2>", _table(pd.DataFrame(facts, columns=["", "value"]))]
    invocations = manifest.get("invocations") or []
    if invocations:
        parts += ["<h3>Sweep invocations</h3>", _table(pd.DataFrame(invocations))]
    times = runs.groupby("scenario")["wall_time_s"].agg(["count", "sum", "median", "max"]).reindex(
        comparison.order).reset_index()
    times.columns = ["policy", "runs", "total (s)", "median (s)", "longest (s)"]
    times["policy"] = times["policy"].map(comparison.label)
    parts += ["<h3>Run times (wall clock, per run)</h3>",
              _table(times.round(2), numeric=("runs", "total (s)", "median (s)", "longest (s)"))]
    failed = runs[runs["status"] != "ok"]
    parts.append(f"<h3>Failed runs: <span class='{'failed' if len(failed) else ''}'>{len(failed)}</span>"
                 "</h3>")
    if len(failed):
        parts.append(_table(failed[["run_id", "scenario", "design_point", "replicate", "seed", "error"]]))
    seeds = (runs.drop_duplicates(["design_point", "replicate"])[["design_point", "replicate", "seed"]]
             .sort_values(["design_point", "replicate"]))
    more = (f"<p>… and {len(seeds) - SEED_ROWS} more (runs.parquet has them all).</p>"
            if len(seeds) > SEED_ROWS else "")
    parts += ["<h3>Seeds (the same for every policy of a design point and replicate)</h3>",
              _table(seeds.head(SEED_ROWS)), more]
    parts += ["<h3>The sweep as resolved (manifest.json)</h3>",
              f"<pre>{_e(json.dumps(manifest.get('sweep', {}), indent=2, sort_keys=True))}</pre>"]
    if manifest.get("sweep_text"):
        parts += ["<h3>The sweep file</h3>", f"<pre>{_e(manifest['sweep_text'])}</pre>"]
    return "\n".join(parts)


def _figure(path: Path, caption: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f"<figure><img alt='{_e(caption)}' src='data:image/png;base64,{data}'>"
            f"<figcaption>{_e(caption)}</figcaption></figure>")


def _design_section(comparison: Comparison, figure_dir: Path) -> str:
    # The factor design, not pooled: each outcome against each factor, then per design point.
    parts = [f"<h2>The factor design: {plural(len(comparison.factors), 'factor')}, "
             f"{plural(comparison.runs['design_point'].nunique(), 'design point')}</h2>",
             "<p>The tables above pool the design points. Here each outcome is shown against each "
             "factor, per policy, and per design point.</p>"]
    for metric in comparison.metrics:
        path = figure_dir / f"factor_{metric}.png"
        if path.is_file():
            parts.append(_figure(path, f"{metric_title(metric)} against each factor"))
    parts.append(f"<p>{_e(DESIGN_POINT_NOTE)}</p>")
    for metric in comparison.metrics:
        wide = design_point_wide(comparison, metric)
        more = (f"<p>… and {len(wide) - SEED_ROWS} more design points (design_points.csv has them "
                "all).</p>" if len(wide) > SEED_ROWS else "")
        shown = wide.head(SEED_ROWS).map(lambda v: number_text(v) if isinstance(v, float) else v)
        parts += [f"<h3>{_e(metric_title(metric))} ({_e(metric_unit(metric))}) per design point</h3>",
                  _table(shown, numeric=tuple(shown.columns[1:])), more]
    return "\n".join(parts)


def report_html(comparison: Comparison, figure_dir: Path) -> str:
    """The report as one HTML string, with the PNG figures in `figure_dir` embedded."""
    name = comparison.manifest.get("sweep", {}).get("name", comparison.folder.name)
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>estate-sim: {_e(name)}</title><style>{STYLE}</style></head><body>",
             f"<h1>Policy comparison: {_e(name)}</h1>",
             f"<p><b>District:</b> {_e(comparison.district or 'not recorded in manifest.json')}. "
             f"<b>Baseline:</b> {_e(comparison.label(comparison.baseline))}.</p>",
             f"<p>{_e(methods_text(comparison))}</p>"]
    for stem, caption in FIGURES.items():
        path = figure_dir / f"{stem}.png"
        if path.is_file():
            parts += [f"<h2>{_e(caption)}</h2>", _figure(path, caption)]
    parts += ["<h2>Table: means of the final values, spreads and paired differences</h2>",
              _summary_table(comparison, comparison.summary)]
    if not comparison.subgroups.empty:
        parts += ["<h2>Table: by management area (household-weighted; areas at the end of the run)</h2>",
                  "<p>Groups are the areas at the end of the run: mergers move households from small "
                  "to large areas.</p>"]
        for grouping, part in comparison.subgroups.groupby("grouping", sort=False):
            parts += [f"<h3>By {_e(grouping)}</h3>", _summary_table(comparison, part, ["group"])]
    if not comparison.ranking.empty:
        parts += [f"<h2>Table: the probability of beating the baseline, over {_e(comparison.scope)}</h2>",
                  f"<p>{_e(RANKING_NOTE)}</p>", _table(ranking_wide(comparison))]
    if not comparison.conclusions.empty:
        parts += ["<h2>Conclusions that survive the assumptions</h2>",
                  f"<p>{_e(conclusions_note(comparison.baseline, comparison.labels))}</p>",
                  _table(conclusions_display(comparison.conclusions, comparison.labels),
                         numeric=("P(better)", "per variant", "coverage", "density"))]
    if comparison.factors:
        parts += [_design_section(comparison, figure_dir)]
    parts += [_provenance(comparison), "</body></html>"]
    return "\n".join(parts)


def run_report(folder: Path, out: Path | None = None, baseline: str | None = None,
               metrics: Sequence[str] = DEFAULT_METRICS, scenarios: Sequence[str] | None = None) -> int:
    """The `report` command: report.html from the comparison `compare` wrote, else a new one.

    A comparison of the same runs with the same arguments, in `out` or in RESULTS/comparison
    (compare's folder), is reused with its figures; otherwise the comparison is made and
    written into `out` first.
    """
    folder, out = Path(folder), Path(out or Path(folder) / "report")
    key = comparison_key(folder, baseline, metrics, scenarios)
    for place in (out, folder / "comparison"):
        reused = load_comparison(folder, place, key)
        if reused is not None:
            comparison, files = reused
            if place.resolve() != out.resolve():
                _copy_comparison(place, out, files)
            print(f"reusing the comparison in {place} (same runs, same arguments)")
            break
    else:
        with FigureHelper() as helper:  # imports matplotlib while this process compares
            comparison = compare_results(folder, baseline, metrics, scenarios)
            save_comparison(comparison, out, key, write_comparison(comparison, out, helper=helper))
    path = out / "report.html"
    path.write_text(report_html(comparison, out), encoding="utf-8")
    print_failures(comparison)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, self-contained)")
    return 0


def _copy_comparison(source: Path, out: Path, files: Sequence[Path]) -> None:
    # The figures and tables next to the report, as a report that compared itself would have them.
    out.mkdir(parents=True, exist_ok=True)
    for path in files:
        shutil.copy2(path, out / path.name)
    shutil.copytree(source / SAVED_DIR, out / SAVED_DIR, dirs_exist_ok=True)
    shutil.copy2(source / SAVED, out / SAVED)
