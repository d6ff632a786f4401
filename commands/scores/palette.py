"""Team colours a room can tell apart: CIEDE2000 distances and the palette they were checked with. Pure.

A team's colour is the palette entry at the position it arrived in (its first sample), stored with the
game, so it keeps its colour all game whatever the ranking does. The first 8 entries are Okabe and
Ito's colour-blind-safe set, with Tol's olive for its yellow (#f0e442 is nearly invisible on white);
the others were picked greedily, each the candidate farthest (CIEDE2000) from those before it and
from the muted grey, among sRGB colours (a 15-step grid) with L* from 22 to 70, dark enough for a
line on white. 37 was as many as kept every pair at least `MIN_DELTA_E` apart; the 4 of them with a
chroma under 16 were then dropped (on a projector they read as the muted grey or as black), leaving
33. A chart highlights at most 10 teams, and `distinct` keeps those 10 apart in games of more than 33.
tests/commands/scores/test_palette.py checks all of it with `delta_e`.
"""

from __future__ import annotations

import math

MIN_DELTA_E = 15.0
OKABE_ITO = ("#0072b2", "#e69f00", "#009e73", "#d55e00", "#56b4e9", "#cc79a7", "#999933", "#000000")
PALETTE: tuple[str, ...] = (
    *OKABE_ITO,
    "#6900a5",
    "#87001e",
    "#004b00",
    "#5a3c00",
    "#005a5a",
    "#ff1e4b",
    "#9669ff",
    "#d29687",
    "#b41e78",
    "#2dc300",
    "#1e3c69",
    "#8787a5",
    "#69690f",
    "#965a4b",
    "#5a1e4b",
    "#1e8700",
    "#5ab4b4",
    "#ff00f0",
    "#004bff",
    "#a5782d",
    "#96a587",
    "#96a5ff",
    "#d20000",
    "#008796",
    "#785aa5",
)
MUTED = "#c4c4c4"  # teams past the highlighted ones: drawn, but behind and without a colour of their own

Lab = tuple[float, float, float]


def lab(colour: str) -> Lab:
    """CIE L*a*b* (D65) of an sRGB hex colour."""
    rgb = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb)
    x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047
    y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b
    z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > (6 / 29) ** 3 else t / (3 * (6 / 29) ** 2) + 4 / 29

    fx, fy, fz = f(x), f(y), f(z)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def delta_e(first: Lab, second: Lab) -> float:
    """CIEDE2000 (kL = kC = kH = 1), as in Sharma, Wu and Dalal (2005)."""
    l1, a1, b1 = first
    l2, a2, b2 = second
    c_mean = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(c_mean**7 / (c_mean**7 + 25.0**7)))
    a1p, a2p = a1 * (1 + g), a2 * (1 + g)
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)
    h1p = math.degrees(math.atan2(b1, a1p)) % 360 if c1p else 0.0
    h2p = math.degrees(math.atan2(b2, a2p)) % 360 if c2p else 0.0
    dl, dc = l2 - l1, c2p - c1p
    if c1p * c2p == 0:
        dh = 0.0
    elif abs(h2p - h1p) <= 180:
        dh = h2p - h1p
    else:
        dh = h2p - h1p - 360 if h2p > h1p else h2p - h1p + 360
    dH = 2 * math.sqrt(c1p * c2p) * math.sin(math.radians(dh / 2))
    l_mean, cp_mean = (l1 + l2) / 2, (c1p + c2p) / 2
    if c1p * c2p == 0:
        h_mean = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        h_mean = (h1p + h2p) / 2
    else:
        h_mean = (h1p + h2p + 360) / 2 if h1p + h2p < 360 else (h1p + h2p - 360) / 2
    t = (
        1
        - 0.17 * math.cos(math.radians(h_mean - 30))
        + 0.24 * math.cos(math.radians(2 * h_mean))
        + 0.32 * math.cos(math.radians(3 * h_mean + 6))
        - 0.20 * math.cos(math.radians(4 * h_mean - 63))
    )
    d_theta = 30 * math.exp(-(((h_mean - 275) / 25) ** 2))
    rc = 2 * math.sqrt(cp_mean**7 / (cp_mean**7 + 25.0**7))
    sl = 1 + 0.015 * (l_mean - 50) ** 2 / math.sqrt(20 + (l_mean - 50) ** 2)
    sc, sh = 1 + 0.045 * cp_mean, 1 + 0.015 * cp_mean * t
    rt = -math.sin(math.radians(2 * d_theta)) * rc
    return math.sqrt((dl / sl) ** 2 + (dc / sc) ** 2 + (dH / sh) ** 2 + rt * (dc / sc) * (dH / sh))


def colour_for(position: int) -> str:
    """The colour of the team that arrived `position`-th (0-based); past the palette they repeat."""
    return PALETTE[position % len(PALETTE)]


def distinct(colours: list[str]) -> list[str]:
    """The colours in order, each kept unless it is within MIN_DELTA_E of one kept before it (two teams
    that arrived 37 apart share an entry), then replaced by the first palette entry far from all."""
    kept: list[tuple[str, Lab]] = []
    for colour in colours:
        if any(delta_e(lab(colour), other) < MIN_DELTA_E for _, other in kept):
            colour = next(c for c in PALETTE if all(delta_e(lab(c), other) >= MIN_DELTA_E for _, other in kept))
        kept.append((colour, lab(colour)))
    return [colour for colour, _ in kept]
