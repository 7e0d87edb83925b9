"""Fit features: titles, bands, categories."""

from __future__ import annotations

import pandas as pd
import pytest

from predictive_scoring.features import fit


@pytest.mark.parametrize(
    "title", ["VP of Marketing", "vp marketing", "Vice President, Marketing", "  VP  Mktg. "]
)
def test_spellings_of_one_title_normalise_to_one_value(title: str) -> None:
    assert fit.normalise_title(title) == "vice president marketing"


def test_titles_map_to_seniority_and_function() -> None:
    titles = pd.Series(
        [
            "CMO",
            "Head of Sales",
            "mktg mgr",
            "Sr. Software Engineer",
            "Intern",
            None,
            "Founder & CEO",
        ]
    )
    derived = fit.title_features(titles)
    assert derived[fit.SENIORITY].tolist() == [
        "c_level",
        "director",
        "manager",
        "individual",
        "intern",
        fit.MISSING,
        "c_level",
    ]
    assert derived[fit.FUNCTION].tolist() == [
        "marketing",
        "sales",
        "marketing",
        "tech",
        "other",
        fit.MISSING,
        "executive",
    ]


def test_bands_have_readable_labels() -> None:
    values = pd.Series([5, 10, 11, 51, 200, 201, 6000, None])
    assert fit.bands(values, [10, 50, 200, 500, 1000, 5000]).tolist() == [
        "≤10",
        "≤10",
        "11–50",
        "51–200",
        "51–200",
        "201–500",
        ">5,000",
        fit.MISSING,
    ]
    assert fit.band_labels([1e6, 1e7]) == ["≤1M", "1M–10M", ">10M"]


def test_rare_and_unseen_categories_become_other_and_missing_is_its_own_value() -> None:
    train = pd.Series(["a"] * 5 + ["b"] * 3 + ["rare"] + [None])
    vocabulary = fit.category_vocabulary(train, min_count=3, max_categories=10)
    assert vocabulary == ["a", "b", fit.MISSING, fit.OTHER]
    encoded = fit.encode_categories(pd.Series(["a", "rare", "never-seen", None]), vocabulary)
    assert encoded.tolist() == ["a", fit.OTHER, fit.OTHER, fit.MISSING]
    assert list(encoded.cat.categories) == vocabulary


def test_identifier_like_text_is_recognised() -> None:
    assert fit.looks_like_identifier(pd.Series([f"Company {i}" for i in range(500)]))
    assert not fit.looks_like_identifier(pd.Series(["x", "y"] * 300))


def test_spellings_of_one_category_count_and_encode_as_one() -> None:
    values = pd.Series(["Software"] * 30 + [" software"] * 5 + ["SOFTWARE"] * 5 + ["Retail"] * 25)
    vocabulary = fit.category_vocabulary(values, min_count=20, max_categories=10)
    assert vocabulary == ["Software", "Retail", fit.MISSING, fit.OTHER]
    encoded = fit.encode_categories(
        pd.Series(["software  ", "RETAIL", "Finance", None]), vocabulary
    )
    assert encoded.tolist() == ["Software", "Retail", fit.OTHER, fit.MISSING]


def test_without_variant_spellings_the_vocabulary_is_counts_then_names() -> None:
    values = pd.Series(["b"] * 3 + ["a"] * 3 + ["c"] * 5 + ["d"])
    assert fit.category_vocabulary(values, 2, 10) == ["c", "a", "b", fit.MISSING, fit.OTHER]


def test_a_column_whose_values_are_all_rare_encodes_as_other_and_missing() -> None:
    values = pd.Series([f"v{i % 30}" for i in range(300)] + [None])
    vocabulary = fit.category_vocabulary(values, min_count=20, max_categories=10)
    assert vocabulary == [fit.MISSING, fit.OTHER]
    encoded = fit.encode_categories(pd.Series(["v1", None, "(missing)"]), vocabulary)
    assert encoded.tolist() == [fit.OTHER, fit.MISSING, fit.MISSING]


def test_a_vocabulary_kept_before_spellings_were_folded_still_encodes() -> None:
    """A champion trained before the folding may hold ``Software`` and ``software`` both: the
    first (the more frequent) takes every spelling."""
    vocabulary = ["Software", "software", "Retail", fit.MISSING, fit.OTHER]
    encoded = fit.encode_categories(pd.Series(["software", "SOFTWARE", "Retail"]), vocabulary)
    assert encoded.tolist() == ["Software", "Software", "Retail"]
