r"""Markdown with maths, rendered on the server: no mermaid or KaTeX fetched by the browser.

Solara's Markdown component loads mermaid and KaTeX from a CDN on every page that shows it, so
offline the ODD's maths stayed raw (`$\\mathrm{clip}(x)$`). Here each `$...$` (and `$$...$$`) is
drawn by matplotlib's mathtext as an inline SVG before the Markdown becomes HTML; an expression
mathtext cannot draw stays as code.
"""

from __future__ import annotations

import functools
import html
import io
import re

import markdown
import solara
from matplotlib import mathtext

_MATH = re.compile(r"\$\$(.+?)\$\$|(?<![\\$\w])\$(?!\s)([^$\n]+?)(?<!\s)\$(?!\w)", re.DOTALL)
_CODE = re.compile(r"(```.*?```|`[^`\n]*`)", re.DOTALL)


_TEXT = re.compile(r"\\text\{([^}]*)\}")
_MATHTEXT_SPELLING = ((r"\ge ", r"\geq "), (r"\le ", r"\leq "), (r"\big(", "("), (r"\big)", ")"),
                      (r"\textstyle", ""), (r"\bmod", r"\ \mathrm{mod}\ "))
"""TeX that mathtext spells otherwise (or does without)."""


_CASES = re.compile(r"\\begin\{cases\}(.*?)\\end\{cases\}", re.DOTALL)


def _cases(match: re.Match[str]) -> str:
    """A cases environment (which mathtext lacks) as one line: { a, if b;  c, if d."""
    rows = [row.split("&") for row in match.group(1).split(r"\\")]
    return (r"\left\{\ " + r";\quad ".join(r",\ ".join(cell.strip() for cell in row) for row in rows)
            + r"\right.")


def mathtext_spelling(expression: str) -> str:
    r"""The expression in mathtext's dialect of TeX: \\text{..} as roman, \\ge as \\geq, ..."""
    expression = _CASES.sub(_cases, expression)
    expression = _TEXT.sub(lambda m: r"\mathrm{" + m.group(1).replace(" ", r"\ ") + "}", expression + " ")
    for tex, spelt in _MATHTEXT_SPELLING:
        expression = expression.replace(tex, spelt)
    return expression.strip()


@functools.lru_cache(maxsize=1024)
def math_svg(expression: str) -> str:
    """One TeX expression as an inline SVG (mathtext's subset of TeX), or as code if it cannot."""
    buffer = io.BytesIO()
    try:
        mathtext.math_to_image(f"${mathtext_spelling(expression)}$", buffer, format="svg", prop=None)
    except (ValueError, RuntimeError):
        return f"<code>{html.escape(expression)}</code>"
    svg = buffer.getvalue().decode()
    svg = svg[svg.index("<svg"):]
    return f'<span class="estate-math" title="{html.escape(expression)}">{svg}</span>'


def render_math(text: str, drawn: list[str] | None = None) -> str:
    """Replace the maths outside code spans and blocks by inline SVG.

    With a list `drawn`, each picture goes into it and the text gets a placeholder instead
    (so that Markdown does not read the pictures' underscores and asterisks).
    """

    def picture(match: re.Match[str]) -> str:
        svg = math_svg((match.group(1) or match.group(2)).strip())
        if drawn is None:
            return svg
        drawn.append(svg)
        return f"ESTATEMATH{len(drawn) - 1}X"

    parts = _CODE.split(text)
    for i in range(0, len(parts), 2):  # even parts are outside code
        parts[i] = _MATH.sub(picture, parts[i])
    return "".join(parts)


def markdown_html(text: str) -> str:
    """Markdown (tables, fenced code) with maths as inline SVG, as HTML."""
    drawn: list[str] = []
    body = markdown.markdown(render_math(text, drawn), extensions=["tables", "fenced_code", "toc"])
    return re.sub(r"ESTATEMATH(\d+)X", lambda m: drawn[int(m.group(1))], body)


@solara.component
def MathMarkdown(text: str):
    """Show Markdown with its maths drawn on the server."""
    body = solara.use_memo(lambda: markdown_html(text), [text])
    solara.HTML(unsafe_innerHTML=body, classes=["estate-markdown"])
