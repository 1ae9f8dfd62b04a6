"""Generated data sets with known segment structure, for the demo, the docs and tests."""

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

# The segments of the sample customer table: share of customers, then (mean, sd) of
# annual income (currency units), spending score (1-100), age (years) and purchases per
# month, and the probabilities of each region.
REGIONS = ("north", "south", "east", "west", "online")
CUSTOMER_SEGMENTS = {
    "young budget spenders": dict(
        share=0.22,
        income=(27_000, 6_000),
        spending=(72, 9),
        age=(24, 4),
        frequency=(7.5, 1.5),
        regions=(0.15, 0.15, 0.15, 0.15, 0.40),
    ),
    "affluent savers": dict(
        share=0.16,
        income=(112_000, 14_000),
        spending=(22, 8),
        age=(53, 6),
        frequency=(1.8, 0.6),
        regions=(0.30, 0.20, 0.25, 0.20, 0.05),
    ),
    "affluent spenders": dict(
        share=0.14,
        income=(104_000, 13_000),
        spending=(82, 7),
        age=(37, 5),
        frequency=(9.5, 2.0),
        regions=(0.20, 0.20, 0.20, 0.20, 0.20),
    ),
    "mid-market families": dict(
        share=0.30,
        income=(61_000, 9_000),
        spending=(50, 9),
        age=(42, 6),
        frequency=(4.5, 1.2),
        regions=(0.25, 0.25, 0.25, 0.20, 0.05),
    ),
    "retired occasional buyers": dict(
        share=0.18,
        income=(36_000, 7_000),
        spending=(31, 9),
        age=(70, 5),
        frequency=(2.2, 0.8),
        regions=(0.20, 0.35, 0.20, 0.20, 0.05),
    ),
}


def make_customers(n_samples=50_000, *, missing_rate=0.0, random_state=0, return_segments=False):
    """A customer table with real segment structure.

    Five segments (see :data:`CUSTOMER_SEGMENTS`) differ in annual income, spending
    score, age, purchase frequency and, less sharply, region. The same ``random_state``
    always gives the same table.

    Parameters
    ----------
    n_samples : int, default=50_000
        Number of customers (rows).
    missing_rate : float, default=0.0
        Share of values blanked at random in ``spending_score`` and ``region``, to
        exercise a missing-value policy.
    random_state : int, RandomState or None, default=0
        Seed of the generator.
    return_segments : bool, default=False
        Also return the true segment of every row (a Categorical).

    Returns
    -------
    customers : DataFrame
        Columns ``customer_id`` (unique int), ``annual_income`` (float, rounded to
        100), ``spending_score`` (float 1-100, integer valued), ``age`` (int),
        ``purchase_frequency`` (purchases per month, one decimal) and ``region``
        (category).
    segments : Categorical, only with ``return_segments=True``

    Examples
    --------
    >>> from centroids.datasets import make_customers
    >>> customers = make_customers(1_000, random_state=0)
    >>> customers.shape
    (1000, 6)
    >>> list(customers.columns)
    ['customer_id', 'annual_income', 'spending_score', 'age', 'purchase_frequency', 'region']
    """
    if not isinstance(n_samples, int | np.integer) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
    if not 0.0 <= missing_rate < 1.0:
        raise ValueError(f"missing_rate must be in [0, 1), got {missing_rate!r}")
    rng = check_random_state(random_state)
    names = list(CUSTOMER_SEGMENTS)
    shares = np.array([CUSTOMER_SEGMENTS[s]["share"] for s in names])
    segment = rng.choice(len(names), size=n_samples, p=shares / shares.sum())

    def draw(field, low, high):
        mean = np.array([CUSTOMER_SEGMENTS[s][field][0] for s in names])[segment]
        sd = np.array([CUSTOMER_SEGMENTS[s][field][1] for s in names])[segment]
        return np.clip(rng.normal(mean, sd), low, high)

    income = np.round(draw("income", 8_000, 400_000), -2)
    spending = np.round(draw("spending", 1, 100))
    age = np.round(draw("age", 18, 95)).astype(np.int64)
    frequency = np.round(draw("frequency", 0.1, 40.0), 1)
    region_p = np.array([CUSTOMER_SEGMENTS[s]["regions"] for s in names])[segment]
    region_index = (rng.uniform(size=(n_samples, 1)) > np.cumsum(region_p, axis=1)).sum(axis=1)
    region = np.asarray(REGIONS, dtype=object)[np.minimum(region_index, len(REGIONS) - 1)]
    if missing_rate > 0:
        spending[rng.uniform(size=n_samples) < missing_rate] = np.nan
        region[rng.uniform(size=n_samples) < missing_rate] = None
    customer_id = 100_000 + rng.permutation(n_samples)
    customers = pd.DataFrame(
        {
            "customer_id": customer_id.astype(np.int64),
            "annual_income": income,
            "spending_score": spending,
            "age": age,
            "purchase_frequency": frequency,
            "region": pd.Categorical(region, categories=list(REGIONS)),
        }
    )
    if return_segments:
        return customers, pd.Categorical.from_codes(segment, categories=names)
    return customers
