"""CIEDE2000 against Sharma, Wu and Dalal's published pairs, and the palette checked with it."""

from __future__ import annotations

import itertools

import pytest

from commands.scores.palette import MIN_DELTA_E, MUTED, OKABE_ITO, PALETTE, colour_for, delta_e, distinct, lab

# Sharma, Wu and Dalal (2005), Table 1: (L1, a1, b1), (L2, a2, b2), ΔE00 to four decimals.
SHARMA = [
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, 3.1571, -77.2803), (50.0, 0.0, -82.7485), 2.8615),
    ((50.0, 2.8361, -74.0200), (50.0, 0.0, -82.7485), 3.4412),
    ((50.0, -1.3802, -84.2814), (50.0, 0.0, -82.7485), 1.0000),
    ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
    ((50.0, 2.5, 0.0), (61.0, -5.0, 29.0), 22.8977),
    ((50.0, 2.5, 0.0), (56.0, -27.0, -3.0), 31.9030),
    ((50.0, 2.5, 0.0), (58.0, 24.0, 15.0), 19.4535),
    ((84.25, 5.74, 96.0), (84.46, 8.88, 96.49), 1.6743),
    ((84.25, 5.74, 96.0), (84.52, 5.75, 93.09), 0.5887),
    ((84.25, 5.74, 96.0), (84.37, 5.86, 99.42), 0.6395),
]


@pytest.mark.parametrize(("first", "second", "expected"), SHARMA)
def test_ciede2000_matches_the_published_pairs_both_ways(first: tuple, second: tuple, expected: float) -> None:
    assert delta_e(first, second) == pytest.approx(expected, abs=5e-5)
    assert delta_e(second, first) == pytest.approx(expected, abs=5e-5)


def test_srgb_to_lab_matches_known_values() -> None:
    assert lab("#ffffff") == pytest.approx((100.0, 0.0, 0.0), abs=0.01)
    assert lab("#ff0000") == pytest.approx((53.24, 80.09, 67.20), abs=0.02)


def test_no_two_palette_colours_nor_the_muted_grey_are_closer_than_15() -> None:
    labs = [lab(c) for c in (*PALETTE, MUTED)]
    closest = min(delta_e(a, b) for a, b in itertools.combinations(labs, 2))
    assert closest >= MIN_DELTA_E == 15.0
    assert len(set(PALETTE)) == len(PALETTE) >= 30


def test_up_to_eight_teams_get_the_colour_blind_safe_set() -> None:
    assert [colour_for(i) for i in range(8)] == list(OKABE_ITO)
    assert OKABE_ITO[:6] == ("#0072b2", "#e69f00", "#009e73", "#d55e00", "#56b4e9", "#cc79a7")


def test_past_the_palette_colours_repeat_and_distinct_keeps_the_drawn_ones_apart() -> None:
    assert colour_for(len(PALETTE)) == PALETTE[0]
    drawn = distinct([colour_for(i) for i in (0, 3, len(PALETTE), 5, len(PALETTE) + 3)])
    assert drawn[:2] == [PALETTE[0], PALETTE[3]] and drawn[3] == PALETTE[5]
    labs = [lab(c) for c in drawn]
    assert min(delta_e(a, b) for a, b in itertools.combinations(labs, 2)) >= MIN_DELTA_E
