"""Bar charts drawn as SVG on the server: no script, no asset from elsewhere, readable at 360 px.

Each chart is an image with a title for screen readers; the numbers are in the table printed beside it.
Suppressed values draw no bar and say so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

WIDTH = 320
ROW = 38
BAR = 14
BAR_COLOUR = "#0b3d91"  # the brand blue: 9.9:1 against white
TEXT_COLOUR = "#0b0c0c"


def bar_chart(chart_id: str, title: str, labels: Sequence[str], values: Sequence[int | None],
              fmt: Callable[[int], str], suppressed: str) -> Markup:
    """A horizontal bar per label: the label above its bar, the value (or `suppressed`) after it."""
    shown = [v for v in values if v is not None]
    top = max(shown, default=0) or 1
    height = ROW * max(1, len(labels)) + 4
    parts = [(f'<svg class="chart" id="{escape(chart_id)}" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
              f'aria-labelledby="{escape(chart_id)}-t" xmlns="http://www.w3.org/2000/svg" font-size="13" '
              f'font-family="system-ui, sans-serif"><title id="{escape(chart_id)}-t">{escape(title)}</title>')]
    value_room = 110
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = i * ROW + 14
        parts.append(f'<text x="0" y="{y}" fill="{TEXT_COLOUR}">{escape(label)}</text>')
        if value is None:
            parts.append(f'<text x="0" y="{y + BAR + 6}" fill="{TEXT_COLOUR}" font-style="italic">{escape(suppressed)}</text>')
            continue
        w = round((WIDTH - value_room) * value / top, 1) if value > 0 else 0
        parts.append(f'<rect x="0" y="{y + 5}" width="{w}" height="{BAR}" fill="{BAR_COLOUR}"/>')
        parts.append(f'<text x="{w + 4}" y="{y + BAR + 2}" fill="{TEXT_COLOUR}">{escape(fmt(value))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
