"""The ranking-factor table on one site: a number where most queries have one page, intervals from
resampling pages that exclude zero at their nominal rate on null worlds, and confounding that fools it."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.impact.correlations import BOOTSTRAP_MAX_PAGES, RESAMPLES, _correlate
from socialrank_demo.rank_worlds import RankWorld, RankWorldSpec, generate


def _page_values(world: RankWorld) -> dict[str, np.ndarray]:
    """Per page: linked or not by the last day (the running-links factor is 0 or more), and its mean
    position over its queries on their latest ranked days, as mart.factor_page_values computes them."""
    rankings = world.rankings.to_pylist()
    latest: dict[tuple[str, str], tuple[object, float]] = {}
    for row in rankings:
        key = (row["canonical_url"], row["query"])
        if key not in latest or row["day"] > latest[key][0]:
            latest[key] = (row["day"], row["position"])
    positions: dict[str, list[float]] = {}
    for (url, _), (_, position) in latest.items():
        positions.setdefault(url, []).append(position)
    linked = set(world.first_links["canonical_url"].to_pylist())
    urls = sorted(positions)
    return {
        "value": np.array([1.0 if url in linked else 0.0 for url in urls]),
        "position": np.array([np.mean(positions[url]) for url in urls]),
    }


def test_most_queries_have_one_page_and_the_table_still_has_a_number() -> None:
    world = generate(RankWorldSpec("null", seed=1))
    pages_per_query = {
        query: len(pages)
        for (query, _), pages in zip(world.site.keywords, world.site.keyword_pages, strict=True)
    }
    assert sum(count == 1 for count in pages_per_query.values()) > 0.8 * len(pages_per_query)
    result = _correlate(_page_values(world))
    assert result["spearman"] is not None and result["ci_low"] < result["spearman"] < result["ci_high"]
    assert result["pages"] >= 140 and result["resamples"] == RESAMPLES


def test_on_null_worlds_the_interval_excludes_zero_at_most_seven_percent_of_the_time() -> None:
    worlds = 100
    excluded = sum(
        not (row["ci_low"] <= 0 <= row["ci_high"])
        for row in (
            _correlate(_page_values(generate(RankWorldSpec("null", seed=seed)))) for seed in range(worlds)
        )
    )
    assert excluded <= 0.07 * worlds, excluded


def test_confounding_fools_it() -> None:
    fooled = [
        _correlate(_page_values(generate(RankWorldSpec("confounded_null", seed=seed)))) for seed in range(5)
    ]
    assert all(row["ci_high"] < 0 for row in fooled), fooled  # linked pages rank better, with no effect


@pytest.mark.parametrize(
    ("value", "position"),
    [([0, 0, 0, 0, 0, 0], [1, 2, 3, 4, 5, 6]), ([1, 2, 3, 4, 5, 6], [3, 3, 3, 3, 3, 3]), ([1, 2], [2, 1])],
)
def test_no_variation_or_too_few_pages_gives_no_number(value: list[float], position: list[float]) -> None:
    result = _correlate({"value": np.array(value, dtype=float), "position": np.array(position, dtype=float)})
    assert result["spearman"] is None and result["ci_low"] is None


def test_past_the_bootstrap_size_the_normal_interval_agrees_with_resampling() -> None:
    """Fisher's z with Bonett and Wright's error, used past BOOTSTRAP_MAX_PAGES pages, gives the interval
    the page bootstrap gives at that size (a factor most pages lack, as social links are)."""
    rng = np.random.default_rng(3)
    pages = BOOTSTRAP_MAX_PAGES
    linked = (rng.random(pages) < 0.3).astype(float) * rng.poisson(3, pages)
    position = 40 - 2 * linked + rng.normal(0, 15, pages)
    values = {"value": linked, "position": position}
    resampled = _correlate(values)
    larger = {name: np.concatenate([column, column[:1]]) for name, column in values.items()}
    normal = _correlate(larger)
    assert resampled["interval_method"] == "page bootstrap" and normal["interval_method"] == "fisher z"
    assert normal["ci_low"] == pytest.approx(resampled["ci_low"], abs=0.01)
    assert normal["ci_high"] == pytest.approx(resampled["ci_high"], abs=0.01)
