"""Charts drawn on the server as inline SVG: no script, no external library, readable by a
screen reader (role="img" with a title and a description) and printable. Colours come from
CSS classes (the page's CSP forbids style attributes)."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from itertools import count
from typing import Sequence

from markupsafe import Markup, escape

_ids = count(1)  # unique title/desc ids when a page holds more than one chart


@dataclass(frozen=True)
class Bar:
    label: str       # under the bar: «ноя»
    sublabel: str    # under the label, where it changes: the year «2018»
    value: Decimal   # its height
    caption: str     # the bar's tooltip: «ноябрь 2018: 230 кВт·ч»


def _nice_top(peak: Decimal) -> Decimal:
    """The axis top: a round number at or above the peak whose quarters are round too."""
    if peak <= 0:
        return Decimal(1)
    magnitude = Decimal(10) ** (len(str(int(peak))) - 1)
    for step in (1, Decimal("1.2"), Decimal("1.6"), 2, Decimal("2.4"), 3, 4, 5, 6, 8, 10):
        if peak <= magnitude * step:
            return magnitude * step
    return magnitude * 10  # not reached


def _number(value: Decimal) -> str:
    text = f"{value:,.0f}".replace(",", "\u202f") if value == value.to_integral() \
        else f"{value:,.1f}".replace(",", "\u202f").replace(".", ",")
    return text


def bar_chart(bars: Sequence[Bar], title: str, description: str, unit: str,
              compact: bool = False) -> Markup:
    """Vertical bars, one per item, with a value axis of four steps and the labels under the
    bars. The SVG scales with its container (viewBox) and keeps its proportions; ``compact``
    draws it for a phone's width (its text would shrink to nothing in the wide drawing)."""
    n = next(_ids)
    if compact:
        width, height, left, right, top, bottom = 340, 230, 38, 4, 26, 44
    else:
        width, height, left, right, top, bottom = 720, 300, 64, 12, 30, 64
    label_gap, year_gap = (16, 34) if compact else (24, 50)
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((b.value for b in bars), default=Decimal(0))
    axis_top = _nice_top(peak)
    parts = [
        f'<svg class="chart chart--{"compact" if compact else "wide"}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="chart-title-{n} chart-desc-{n}" preserveAspectRatio="xMidYMid meet" '
        f'xmlns="http://www.w3.org/2000/svg" data-testid="consumption-chart">',
        f'<title id="chart-title-{n}">{escape(title)}</title>',
        f'<desc id="chart-desc-{n}">{escape(description)}</desc>',
    ]
    for step in range(5):  # grid lines and the value axis: 0, ¼, ½, ¾, top
        value = axis_top * step / 4
        y = top + plot_h - float(value / axis_top) * plot_h
        parts.append(f'<line class="chart__grid" x1="{left}" x2="{width - right}" '
                     f'y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="chart__axis" x="{left - 8}" y="{y + 4:.1f}" '
                     f'text-anchor="end">{escape(_number(value))}</text>')
    parts.append(f'<text class="chart__unit" x="4" y="{top - 12}" '
                 f'text-anchor="start">{escape(unit)}</text>')
    if bars:
        slot = plot_w / len(bars)
        bar_w = min(48.0, slot * 0.7)
        # Thin bars cannot carry every label: show every k-th so they never overlap.
        room = 24 if compact else 48  # the width a month's label needs
        every = 1 if slot >= room else int(room // slot) + 1
        for i, bar in enumerate(bars):
            h = float(bar.value / axis_top) * plot_h if axis_top else 0
            x = left + slot * i + (slot - bar_w) / 2
            y = top + plot_h - h
            parts.append(
                f'<rect class="chart__bar" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
                f'height="{max(h, 0):.1f}" rx="2"><title>{escape(bar.caption)}</title></rect>')
            if not compact and bar_w >= 26:
                parts.append(f'<text class="chart__value" x="{x + bar_w / 2:.1f}" '
                             f'y="{y - 4:.1f}" text-anchor="middle">'
                             f'{escape(_number(bar.value))}</text>')
            if i % every == 0:
                parts.append(f'<text class="chart__label" x="{x + bar_w / 2:.1f}" '
                             f'y="{height - bottom + label_gap}" text-anchor="middle">'
                             f'{escape(bar.label)}</text>')
            if bar.sublabel:
                parts.append(f'<text class="chart__label chart__label--year" '
                             f'x="{x + bar_w / 2:.1f}" y="{height - bottom + year_gap}" '
                             f'text-anchor="middle">{escape(bar.sublabel)}</text>')
    parts.append(f'<line class="chart__base" x1="{left}" x2="{width - right}" '
                 f'y1="{top + plot_h}" y2="{top + plot_h}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))
