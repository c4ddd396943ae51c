"""Server-rendered inline SVG charts (no JS library, nothing fetched): flagged listings over time."""
from __future__ import annotations

from datetime import date

from markupsafe import Markup

PALETTE = ("#1b6ca8", "#d1495b", "#edae49", "#00798c", "#66a182", "#8d6a9f", "#2e4057", "#c47b3f", "#6c757d")


def top_series(series: dict[str, list[int]], keep: int = len(PALETTE) - 1) -> dict[str, list[int]]:
    """The `keep` largest series (by total, then name) and the rest summed into "other", so a chart keeps
    one colour per line. The store counts (ListingStore.daily_counts); this only picks what to draw."""
    ranked = sorted(series, key=lambda k: (-sum(series[k]), k))
    out = {k: series[k] for k in ranked[:keep]}
    rest = ranked[keep:]
    if rest:
        days = len(next(iter(series.values())))
        summed = [sum(series[k][i] for k in rest) for i in range(days)]
        out["other"] = [a + b for a, b in zip(out.get("other", [0] * days), summed)]  # "other" is also a class
    return out


def line_chart(axis: list[date], series: dict[str, list[int]], title: str, width: int = 640, height: int = 220) -> Markup:
    """An accessible SVG line chart; every label is escaped."""
    left, right, top, bottom = 36, 150, 24, 28
    pw, ph = width - left - right, height - top - bottom
    peak = max([max(v) for v in series.values()] + [1])
    n = max(len(axis) - 1, 1)

    def xy(i, v):
        return left + pw * i / n, top + ph - ph * v / peak

    parts = [Markup('<svg class="chart" role="img" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
                    'xmlns="http://www.w3.org/2000/svg"><title>{t}</title>').format(w=width, h=height, t=title)]
    parts.append(Markup('<text x="{}" y="16" class="chart-title">{}</text>').format(left, title))
    for frac in (0, 0.5, 1):
        y = top + ph - ph * frac
        parts.append(Markup('<line x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}" class="grid"/>'
                            '<text x="{}" y="{:.1f}" class="tick" text-anchor="end">{}</text>')
                     .format(left, left + pw, y, y, left - 4, y + 4, round(peak * frac)))
    if axis:
        for i in (0, len(axis) // 2, len(axis) - 1):
            x, _ = xy(i, 0)
            parts.append(Markup('<text x="{:.1f}" y="{}" class="tick" text-anchor="middle">{}</text>')
                         .format(x, height - 8, axis[i].strftime("%m-%d")))
    if not series:
        parts.append(Markup('<text x="{}" y="{}" class="tick">no flagged listings in this period</text>')
                     .format(left + 10, top + ph / 2))
    for j, (name, values) in enumerate(series.items()):
        color = PALETTE[j % len(PALETTE)]
        pts = " ".join("{:.1f},{:.1f}".format(*xy(i, v)) for i, v in enumerate(values))
        parts.append(Markup('<polyline fill="none" stroke="{}" stroke-width="2" points="{}"><title>{}: {}</title></polyline>')
                     .format(color, pts, name, sum(values)))
        ly = top + 12 + j * 16
        parts.append(Markup('<rect x="{}" y="{}" width="10" height="10" fill="{}"/><text x="{}" y="{}" class="legend">{} ({})</text>')
                     .format(left + pw + 12, ly - 9, color, left + pw + 26, ly, name, sum(values)))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


