"""Short names and one-sentence descriptions of segments, from their profile.

A segment is named after the two or three features that most set its center apart from
the whole training data, in units of the training data's standard deviation:

* numeric column: ``d = (center mean - overall mean) / overall sd``; the phrase is
  ``'<column> <level>'`` with level ``very high`` (d ≥ 1.5), ``high`` (d ≥ 0.5),
  ``slightly high`` (d ≥ 0.2), ``average``, and the same downwards.
* age-like column (rule): an integer-valued column whose name has the word ``age`` (``age``,
  ``customer_age``, ``AgeYears``...) and whose values lie within 0..120 gets the range
  bucket its center falls in instead (``under 18``, ``18-24``, ``25-34``, ``35-44``,
  ``45-54``, ``55-64``, ``65+``), e.g. ``'age 25-34'``.
* categorical column: for each category, the standardised difference of its indicator,
  ``d = (share in segment - overall share) / sqrt(p (1 - p))``; the category with the
  largest d names the column, ``'<column> <category>'``, when d is positive.

Features with ``|d| ≥ 0.5`` are listed, strongest first, at most ``max_features`` (3) and
at least one; a segment with none is ``'near average'``. Equal names get further features
until they differ (segments whose every phrase is the same do not); names still equal then
get a suffix ``' (2)'``, ``' (3)'``.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

__all__ = ["describe_segments", "overall_profile", "suggest_segment_names"]

HIGH = 0.5
VERY_HIGH = 1.5
SLIGHT = 0.2

AGE_BUCKETS = ((0, 18, "under 18"), (18, 25, "18-24"), (25, 35, "25-34"), (35, 45, "35-44"),
               (45, 55, "45-54"), (55, 65, "55-64"), (65, math.inf, "65+"))  # fmt: skip


def overall_profile(preparation):
    """What the whole training data looks like, per feature column, from a Preparation.

    Returns
    -------
    dict
        ``{column: {'kind': 'numeric', 'mean', 'std', 'integer_valued', 'minimum',
        'maximum'}}`` or ``{column: {'kind': 'categorical', 'shares': {level: share}}}``.
    """
    overall = {}
    for spec in preparation.specs:
        if spec.kind == "numeric":
            overall[spec.name] = {
                "kind": "numeric",
                "mean": spec.mean,
                "std": spec.std,
                "integer_valued": spec.integer_valued,
                "minimum": spec.minimum,
                "maximum": spec.maximum,
            }
        else:
            overall[spec.name] = {
                "kind": "categorical",
                "shares": dict(zip(spec.levels, spec.shares, strict=True)),
            }
    return overall


def _is_age_like(name, stats):
    words = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(name)).lower()
    tokens = re.split(r"[^a-z0-9]+", words)
    return (
        ("age" in tokens or "ages" in tokens)
        and stats.get("integer_valued", False)
        and stats.get("minimum", -1) >= 0
        and stats.get("maximum", math.inf) <= 120
    )


def _age_bucket(value):
    for low, high, label in AGE_BUCKETS:
        if low <= value < high:
            return label
    return AGE_BUCKETS[-1][2]


def _level(d):
    size = abs(d)
    if size >= VERY_HIGH:
        word = "very "
    elif size >= HIGH:
        word = ""
    elif size >= SLIGHT:
        word = "slightly "
    else:
        return "average"
    return word + ("high" if d > 0 else "low")


def _format_number(value):
    value = float(value)
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def _feature_findings(center, overall):
    """(score, phrase, detail) of every feature for one center, strongest first."""
    findings = []
    for name, stats in overall.items():
        if stats["kind"] == "numeric":
            value = float(center[name])
            std = stats["std"]
            d = (value - stats["mean"]) / std if std > 0 else 0.0
            if _is_age_like(name, stats) and abs(d) >= HIGH:
                phrase = f"{name} {_age_bucket(value)}"
            else:
                phrase = f"{name} {_level(d)}"
            detail = (
                f"{name} {_format_number(value)} (overall {_format_number(stats['mean'])}, "
                f"{d:+.1f} sd)"
            )
            findings.append((abs(d), phrase, detail))
            continue
        best = None
        for level, p in stats["shares"].items():
            share_column = f"{name}={level}"
            if share_column in center.index:
                share = float(center[share_column])
            else:
                share = 1.0 if center.get(name) == level else 0.0
            if not 0 < p < 1:
                continue
            d = (share - p) / math.sqrt(p * (1 - p))
            if best is None or d > best[0]:
                best = (d, level, share, p)
        if best is None or best[0] <= 0:
            findings.append((0.0, f"{name} mixed", f"{name} mixed"))
            continue
        d, level, share, p = best
        findings.append(
            (
                d,
                f"{name} {level}",
                f"{name} mostly {level!r} ({share:.0%} vs {p:.0%} overall)",
            )
        )
    order = sorted(range(len(findings)), key=lambda i: -findings[i][0])
    return [findings[i] for i in order]


def _inputs(centers_original, overall):
    if hasattr(centers_original, "preparation_"):
        segmentation = centers_original
        return segmentation.centers_original_, overall_profile(segmentation.preparation_)
    if overall is None:
        raise TypeError(
            "suggest_segment_names needs the overall profile (see overall_profile) when "
            "given centers rather than a fitted Segmentation."
        )
    if not isinstance(centers_original, pd.DataFrame):
        raise TypeError(
            "centers_original must be a DataFrame of centers in original units (a "
            f"Segmentation's centers_original_) or a fitted Segmentation; got "
            f"{type(centers_original).__name__}."
        )
    absent = [name for name in overall if name not in centers_original.columns]
    if absent:
        raise ValueError(
            f"centers_original lacks column(s) {absent} that the overall profile describes; "
            f"it has {list(centers_original.columns)}."
        )
    return centers_original, overall


def suggest_segment_names(centers_original, overall=None, *, max_features=3):
    """A short, unique name for every segment, from its center in original units.

    Parameters
    ----------
    centers_original : DataFrame or Segmentation
        One row per segment in the units of the input columns (with the category share
        columns ``'column=category'``), or a fitted Segmentation (then ``overall`` is
        taken from it).
    overall : dict, default=None
        The whole data's profile, as :func:`overall_profile` returns.
    max_features : int, default=3
        At most this many features per name before disambiguation.

    Returns
    -------
    list of str
        Names such as ``'income high · spending very low · age 25-34'``, all different.

    Examples
    --------
    >>> import pandas as pd
    >>> overall = {"income": {"kind": "numeric", "mean": 50.0, "std": 10.0},
    ...            "age": {"kind": "numeric", "mean": 40.0, "std": 12.0,
    ...                    "integer_valued": True, "minimum": 18, "maximum": 80}}
    >>> centers = pd.DataFrame({"income": [70.0, 45.0], "age": [30.0, 55.0]})
    >>> suggest_segment_names(centers, overall)
    ['income very high · age 25-34', 'age 55-64 · income low']
    """
    centers, overall = _inputs(centers_original, overall)
    if max_features < 1:
        raise ValueError(f"max_features must be at least 1; got {max_features!r}.")
    findings = [_feature_findings(row, overall) for _, row in centers.iterrows()]
    lengths = []
    for found in findings:
        strong = sum(score >= HIGH for score, _, _ in found)
        lengths.append(min(strong, max_features))

    def name_of(i):
        phrases = [phrase for _, phrase, _ in findings[i][: lengths[i]]]
        if not findings[i] or findings[i][0][0] < HIGH:
            phrases.insert(0, "near average")
        return " · ".join(phrases)

    full = [tuple(phrase for _, phrase, _ in found) for found in findings]
    names = [name_of(i) for i in range(len(findings))]
    while True:
        groups = {}
        for i, name in enumerate(names):
            groups.setdefault(name, []).append(i)
        grew = False
        for members in groups.values():
            if len(members) > 1:
                for i in members:
                    # a longer name only helps a segment whose full profile differs from
                    # another's in the group; identical ones go straight to a suffix
                    differs = any(full[j] != full[i] for j in members)
                    if differs and lengths[i] < len(findings[i]):
                        lengths[i] += 1
                        grew = True
        if not grew:
            break
        names = [name_of(i) for i in range(len(findings))]
    seen = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return unique


def describe_segments(segmentation, *, max_features=3):
    """One sentence with numbers per segment of a fitted Segmentation.

    Returns
    -------
    list of str
        E.g. ``"Segment 0 'income high' holds 120 rows (40.0%): income 81.0 (overall
        51.0, +1.2 sd)."``.

    Examples
    --------
    >>> import pandas as pd
    >>> from centroids.segments.segmentation import Segmentation
    >>> df = pd.DataFrame({"income": [20, 22, 21, 80, 82, 81]})
    >>> seg = Segmentation(n_clusters=2, random_state=0).fit(df)
    >>> high = int(seg.centers_original_["income"].idxmax())
    >>> describe_segments(seg)[high]  # doctest: +ELLIPSIS
    "Segment ... 'income high' holds 3 rows (50.0%): income 81.0 (overall 51.0, +1.0 sd)."
    """
    centers, overall = _inputs(segmentation, None)
    sizes = np.asarray(segmentation.sizes_)
    total = max(int(sizes.sum()), 1)
    sentences = []
    for i, (_, row) in enumerate(centers.iterrows()):
        found = _feature_findings(row, overall)
        shown = [detail for score, _, detail in found if score >= HIGH][:max_features]
        if not shown:
            shown = [found[0][2]] if found else []
        sentences.append(
            f"Segment {i} {segmentation.names_[i]!r} holds {int(sizes[i]):,} rows "
            f"({sizes[i] / total:.1%}): {', '.join(shown)}."
        )
    return sentences
