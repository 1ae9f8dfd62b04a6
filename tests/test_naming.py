"""centroids.segments.naming: segment names and descriptions from profiles in original units."""

import numpy as np
import pandas as pd
import pytest

from centroids.segments.naming import describe_segments, overall_profile, suggest_segment_names
from centroids.segments.segmentation import Segmentation

OVERALL = {
    "income": {"kind": "numeric", "mean": 50_000.0, "std": 10_000.0},
    "spending": {"kind": "numeric", "mean": 2_000.0, "std": 500.0},
    "age": {
        "kind": "numeric",
        "mean": 45.0,
        "std": 12.0,
        "integer_valued": True,
        "minimum": 18.0,
        "maximum": 90.0,
    },
    "region": {"kind": "categorical", "shares": {"north": 0.5, "south": 0.3, "west": 0.2}},
}


def centers(rows):
    """Centers with region shares given as dicts."""
    frame = []
    for row in rows:
        shares = row.pop("shares", {"north": 0.5, "south": 0.3, "west": 0.2})
        row = {"income": 50_000.0, "spending": 2_000.0, "age": 45.0, **row}
        row["region"] = max(shares, key=shares.get)
        row.update({f"region={k}": v for k, v in shares.items()})
        frame.append(row)
    return pd.DataFrame(frame)


def test_levels_follow_the_thresholds_in_sd_units():
    names = suggest_segment_names(
        centers(
            [
                {"income": 70_000.0, "spending": 1_600.0},  # +2.0 sd, -0.8 sd
                {"income": 44_000.0, "spending": 2_900.0},  # -0.6 sd, +1.8 sd
            ]
        ),
        OVERALL,
    )
    assert names == ["income very high · spending low", "spending very high · income low"]


def test_age_like_columns_get_a_range_bucket():
    names = suggest_segment_names(
        centers([{"age": 29.6}, {"age": 70.0}, {"age": 45.0, "income": 80_000.0}]), OVERALL
    )
    assert names == ["age 25-34", "age 65+", "income very high"]
    # the same numbers in a column not named like an age get high / low
    not_age = {"years_active" if k == "age" else k: v for k, v in OVERALL.items()}
    renamed = centers([{"age": 29.6}]).rename(columns={"age": "years_active"})
    assert suggest_segment_names(renamed, not_age) == ["years_active low"]
    # CamelCase and snake_case names count as ages
    camel = {"CustomerAge" if k == "age" else k: v for k, v in OVERALL.items()}
    frame = centers([{"age": 20.0}]).rename(columns={"age": "CustomerAge"})
    assert suggest_segment_names(frame, camel) == ["CustomerAge 18-24"]


def test_categorical_dominant_category_when_it_differs_from_overall():
    names = suggest_segment_names(
        centers(
            [
                {"shares": {"north": 0.1, "south": 0.1, "west": 0.8}},
                {"shares": {"north": 0.55, "south": 0.25, "west": 0.2}, "income": 65_000.0},
            ]
        ),
        OVERALL,
    )
    # west: (0.8 - 0.2) / sqrt(0.2 * 0.8) = 1.5 sd; north in the second is only +0.1 sd
    assert names == ["region west", "income very high"]


def test_names_are_unique_and_grow_before_taking_a_suffix():
    names = suggest_segment_names(
        centers(
            [
                {"income": 70_000.0, "spending": 2_150.0},
                {"income": 70_000.0, "spending": 1_850.0},
                {"income": 70_000.0, "spending": 1_850.0},
                {},
                {"spending": 2_050.0},
            ]
        ),
        OVERALL,
        max_features=1,
    )
    assert names[0] == "income very high · spending slightly high"
    assert names[1] == "income very high · spending slightly low"
    assert names[2] == "income very high · spending slightly low (2)"
    assert names[3].startswith("near average")
    assert names[4].startswith("near average")
    assert len(set(names)) == len(names)


def test_from_a_fitted_segmentation_and_descriptions():
    rng = np.random.default_rng(0)
    n = 300
    group = rng.integers(0, 3, n)
    df = pd.DataFrame(
        {
            "income": np.array([30_000, 60_000, 90_000])[group] + rng.normal(0, 3_000, n),
            "age": np.array([25, 45, 65])[group] + rng.integers(-3, 4, n),
            "plan": np.array(["basic", "plus", "gold"])[group],
        }
    )
    seg = Segmentation(n_clusters=3, random_state=0).fit(df)
    assert suggest_segment_names(seg) == seg.names_
    assert len(set(seg.names_)) == 3
    by_income = np.argsort(seg.centers_original_["income"].to_numpy())
    assert "income" in seg.names_[by_income[0]] or "age" in seg.names_[by_income[0]]
    assert "plan basic" in seg.names_[by_income[0]]
    assert "plan gold" in seg.names_[by_income[2]]
    overall = overall_profile(seg.preparation_)
    assert overall["income"]["mean"] == pytest.approx(df["income"].mean())
    assert overall["income"]["std"] == pytest.approx(df["income"].std(ddof=0))
    descriptions = describe_segments(seg)
    top = by_income[2]
    size = int(seg.sizes_[top])
    assert descriptions[top].startswith(
        f"Segment {top} {seg.names_[top]!r} holds {size:,} rows ({size / n:.1%}): "
    )
    assert "plan mostly 'gold' (100% vs" in descriptions[top]


def test_errors():
    with pytest.raises(TypeError, match="needs the overall profile"):
        suggest_segment_names(pd.DataFrame({"x": [1.0]}))
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['spending'"):
        suggest_segment_names(pd.DataFrame({"income": [1.0]}), OVERALL)
    with pytest.raises(ValueError, match="max_features"):
        suggest_segment_names(centers([{}]), OVERALL, max_features=0)
