"""Chinese text in every figure and report: a CJK font is chosen when one is installed."""

from __future__ import annotations

import json
import warnings

import pytest
from synthetic_results import make_results

from analysis.compare import compare_results, write_comparison
from analysis.report import STYLE, report_html
from analysis.style import figure_rc
from sim.fonts import CJK_FONTS, cjk_fonts

CHINESE_LABELS = {"status_quo": "现状（对照）", "n_in_1": "多合一合并", "integrated": "街区一体化"}


def _needs_a_cjk_font() -> None:
    if not cjk_fonts():
        pytest.skip("no CJK font installed here (`make test` installs Debian's fonts-noto-cjk)")


def test_figures_name_a_cjk_font_after_dejavu_sans():
    _needs_a_cjk_font()
    family = figure_rc()["font.family"]
    assert family[0] == "DejaVu Sans" and family[1] in CJK_FONTS


def test_every_comparison_figure_renders_chinese_labels_without_a_missing_glyph(tmp_path):
    _needs_a_cjk_font()
    folder = make_results(tmp_path / "results", replicates=3, years=1)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    for scenario in manifest["sweep"]["scenarios"]:
        scenario["label"] = CHINESE_LABELS[scenario["name"]]
        scenario["district"] = "虹口区欧阳路街道"
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    comparison = compare_results(folder, metrics=["satisfaction", "service_quality"])
    assert comparison.label("n_in_1") == "多合一合并"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        written = write_comparison(comparison, tmp_path / "comparison")
        page = report_html(comparison, tmp_path / "comparison")
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert not missing, missing[:3]
    assert any(p.suffix == ".png" for p in written)
    assert "街区一体化" in page and "虹口区欧阳路街道" in page


def test_without_the_cjk_font_the_same_label_is_a_missing_glyph(tmp_path):
    """The check above can fail: DejaVu Sans alone warns for each Chinese glyph."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with warnings.catch_warnings(record=True) as caught, plt.rc_context(
            {"font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans"]}):
        warnings.simplefilter("always")
        fig, ax = plt.subplots()
        ax.set_title("街区一体化")
        fig.savefig(tmp_path / "boxes.png")
        plt.close(fig)
    assert any("missing from font" in str(w.message) for w in caught)


def test_the_report_page_asks_for_a_cjk_font():
    assert "Noto Sans CJK SC" in STYLE and "sans-serif" in STYLE
