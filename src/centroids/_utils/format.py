"""Numbers as people read them in tables: the command's output and the HTML report."""

import math


def missing_number(value):
    """True for None, NaN and infinities."""
    return value is None or not math.isfinite(float(value))


def readable_number(value):
    """A number for a table cell: ``–`` when missing, thousands separated from 10,000 on,
    one decimal from 100 on, 3 significant digits below.

    Examples
    --------
    >>> [readable_number(v) for v in (61017.4, 104.25, 4.476, None, float("nan"))]
    ['61,017', '104.2', '4.48', '–', '–']
    """
    if missing_number(value):
        return "–"
    value = float(value)
    if abs(value) >= 10_000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:,.1f}"
    return f"{value:.3g}"


def fixed_decimals(value, decimals):
    """A quality metric with a fixed number of decimals (thousands separated), ``–`` when
    missing.

    Examples
    --------
    >>> fixed_decimals(0.39634, 3), fixed_decimals(34167.2, 0), fixed_decimals(None, 3)
    ('0.396', '34,167', '–')
    """
    return "–" if missing_number(value) else f"{float(value):,.{decimals}f}"
