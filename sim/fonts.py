"""Fonts with Chinese glyphs for every matplotlib figure (the app's and the analysis's).

Matplotlib's default, DejaVu Sans, has no CJK glyphs: Chinese labels (a district's block names,
a scenario's label, the app in Chinese) would show as empty boxes. Figures therefore name a
font family list, DejaVu Sans first and a CJK font after it, and matplotlib falls back to the
second glyph by glyph. Debian's fonts-noto-cjk (installed by `make demo`, `make test` and
`make browser-deps`) has the first of CJK_FONTS.
"""

from __future__ import annotations

import functools
import shutil
import subprocess

CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC", "WenQuanYi Zen Hei",
             "WenQuanYi Micro Hei", "Droid Sans Fallback", "SimHei", "Microsoft YaHei", "PingFang SC")
"""Fonts with Chinese glyphs, the preferred first (Linux, then Windows and macOS names)."""
LATIN_FONT = "DejaVu Sans"
"""Matplotlib's own font: Latin text keeps its usual look."""


@functools.cache
def cjk_fonts() -> tuple[str, ...]:
    """The CJK_FONTS matplotlib can use, registering the system's Chinese fonts once if needed.

    Matplotlib's font cache may predate the font's installation, so the files that fontconfig
    knows for Chinese are added to it here when none of CJK_FONTS is in the cache.
    """
    from matplotlib import font_manager

    def known() -> tuple[str, ...]:
        installed = {f.name for f in font_manager.fontManager.ttflist}
        return tuple(f for f in CJK_FONTS if f in installed)

    if not known() and shutil.which("fc-list"):
        listed = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True,
                                check=False).stdout
        for path in sorted({line.split(":")[0].strip() for line in listed.splitlines() if line.strip()}):
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):  # a format matplotlib cannot read
                continue
    return known()


def font_family() -> list[str]:
    """The family list for a figure's text: DejaVu Sans, then the CJK fonts installed."""
    return [LATIN_FONT, *cjk_fonts()]


CSS_FONT_FAMILY = ", ".join(["system-ui", *(f'"{name}"' for name in CJK_FONTS), "sans-serif"])
"""The font-family of an HTML page with Chinese text: the browser takes each glyph from the
first font that has it."""
