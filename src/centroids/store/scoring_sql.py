"""Assign rows to segments inside the database: a Segmentation written as SQL.

:func:`segmentation_to_sql` turns a fitted :class:`centroids.segments.segmentation.Segmentation`
into plain SQL for SQLite or PostgreSQL that computes, from a row's raw columns, the
segment :meth:`Segmentation.predict` would give, with no Python at prediction time:

1. the preparation: a missing numeric value is replaced by the training median
   (``missing='impute'``) or left out of the distances (the other policies: predict
   places such a row by its observed columns; the segment is NULL only for a row with
   every feature missing, where predict gives -1); numbers are cast to double precision
   and scaled as ``(x - center) / scale``;
   a categorical column becomes the index of its category among the known ones, through
   ``CASE WHEN column = 'category'`` (-1 for an unseen category, or a missing value without
   a missing level: an all-zero one-hot block, as in Python);
2. the squared distance to every center: ``(z - c) * (z - c)`` for every numeric column,
   plus, for every categorical column, the block's whole contribution
   ``Σ (one-hot - c)²`` picked by a CASE on the category index from constants computed
   here (a one-hot block is never spelled out). Constants are written with ``repr()``,
   the shortest text that reads back as the same double;
3. the nearest center: the minimum of the distances, then a CASE chain that returns the
   first center (lowest index) at that minimum, which is how predict breaks exact ties.

Each step is a nested SELECT behind an optimisation fence (``OFFSET 0``), so the database
computes every feature and every distance once per row; merged, they would be repeated in
every use (minutes instead of seconds for 100,000 rows in PostgreSQL).

The arithmetic is IEEE double arithmetic like the preparation's, so the SQL agrees with
predict except for rows within rounding error of a tie between two centers (the sums are
not added in the same order, and predict computes distances through a matrix product from
8 model columns on).

Column and table names are quoted by SQLAlchemy's quoting for the dialect, and string
constants have their quotes doubled, so no name or category value can change the
statement.
"""

from __future__ import annotations

import math
import numbers

__all__ = ["SQL_DIALECTS", "segmentation_to_sql"]

#: The dialects segmentation_to_sql writes.
SQL_DIALECTS = ("sqlite", "postgresql")

_ALIASES = {"postgres": "postgresql", "postgresql": "postgresql", "sqlite": "sqlite"}


def _dialect_name(dialect):
    name = dialect
    if not isinstance(name, str):
        inner = getattr(dialect, "dialect", dialect)  # Engine / Connection
        name = getattr(inner, "name", None)
    if not isinstance(name, str) or name.lower() not in _ALIASES:
        raise ValueError(
            f"dialect must be one of {', '.join(map(repr, SQL_DIALECTS))} (or a SQLAlchemy "
            f"engine for one of them); got {dialect!r}."
        )
    return _ALIASES[name.lower()]


class _Writer:
    """Quoting and literals of one dialect."""

    def __init__(self, dialect):
        from sqlalchemy.dialects import postgresql, sqlite

        self.name = dialect
        module = sqlite if dialect == "sqlite" else postgresql
        self._preparer = module.dialect().identifier_preparer
        self.real_type = "REAL" if dialect == "sqlite" else "DOUBLE PRECISION"
        # An optimisation fence: without it both databases merge the nested SELECTs and
        # repeat each feature's arithmetic in every distance and each distance in every
        # comparison (a 100,000-row table then takes minutes in PostgreSQL). SQLite does
        # not flatten a subquery with an OFFSET, PostgreSQL does not pull one up.
        self.fence = "LIMIT -1 OFFSET 0" if dialect == "sqlite" else "OFFSET 0"

    def identifier(self, name, what):
        if not isinstance(name, str) or not name or "\x00" in name:
            raise ValueError(
                f"{what} must be a non-empty string without NUL characters; got {name!r}."
            )
        return self._preparer.quote_identifier(name)

    def table(self, table):
        if isinstance(table, (tuple, list)):
            if len(table) != 2:
                raise ValueError(f"table must be a name or a (schema, name) pair; got {table!r}.")
            return f"{self.identifier(table[0], 'schema')}.{self.identifier(table[1], 'table')}"
        return self.identifier(table, "table")

    def real(self, value):
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"Cannot write the non-finite constant {value!r} into SQL.")
        text = repr(value)
        return f"({text})" if value < 0 or text.startswith("-") else text

    def real_constant(self, value):
        """A double precision constant (PostgreSQL reads a bare decimal as numeric)."""
        text = self.real(value)
        return text if self.name == "sqlite" else f"CAST({text} AS DOUBLE PRECISION)"

    def literal(self, value, what="value"):
        """A SQL constant for a JSON scalar (str, bool, int, float)."""
        if isinstance(value, bool):
            if self.name == "sqlite":
                return "1" if value else "0"
            return "TRUE" if value else "FALSE"
        if isinstance(value, numbers.Integral):
            return str(int(value))
        if isinstance(value, numbers.Real):
            return self.real(value)
        if isinstance(value, str):
            if "\x00" in value:
                raise ValueError(f"{what} {value!r} holds a NUL character; SQL cannot hold it.")
            return "'" + value.replace("'", "''") + "'"
        raise TypeError(f"{what} must be a str, int, float or bool; got {value!r}.")

    def as_real(self, expression):
        return f"CAST({expression} AS {self.real_type})"

    def least(self, expressions):
        if len(expressions) == 1:
            return expressions[0]
        function = "min" if self.name == "sqlite" else "LEAST"
        return f"{function}({', '.join(expressions)})"


def _feature_expressions(preparation, writer):
    """SQL for every feature column from the raw columns, and the 'row incomplete' tests.

    A numeric column gives its scaled value; a categorical column gives the index of its
    one-hot level (the missing level last), -1 for an unseen category or a missing value
    without a level. Each comes with its spec and the model columns it covers.
    """
    features = []
    incomplete = []
    start = 0
    for spec in preparation.specs:
        column = writer.identifier(spec.name, "column name")
        if spec.kind == "numeric":
            value = writer.as_real(column)
            if preparation.missing in ("median", "impute"):
                value = f"COALESCE({value}, {writer.real(spec.median)})"
            else:
                incomplete.append(f"{column} IS NULL")
            center, scale = writer.real(spec.center), writer.real(spec.scale)
            features.append((f"(({value} - {center}) / {scale})", spec, start))
            start += 1
            continue
        branches = [
            f"WHEN {column} = {writer.literal(category, f'category of column {spec.name!r}')} "
            f"THEN {position}"
            for position, category in enumerate(spec.categories)
        ]
        if spec.missing_level:
            branches.append(f"WHEN {column} IS NULL THEN {len(spec.categories)}")
        features.append((f"CASE {' '.join(branches)} ELSE -1 END", spec, start))
        start += len(spec.levels)
    # A row is placed by its observed columns; only one with none observed gets NULL.
    if incomplete and len(incomplete) == len(preparation.specs):
        return features, [f"({' AND '.join(incomplete)})"]
    return features, []


def _block_constants(spec, coordinates):
    """Squared distance from each one-hot level (then from an all-zero block) to a center.

    Summed in level order, as the model columns are.
    """
    constants = []
    for hit in [*range(len(spec.levels)), -1]:
        total = 0.0
        for level, coordinate in enumerate(coordinates):
            difference = (spec.weight if level == hit else 0.0) - coordinate
            total += difference * difference
        constants.append(total)
    return constants


def _sq_distance(features, references, center, writer):
    """SQL for the squared distance from a prepared row to one center."""
    terms = []
    for (_, spec, start), reference in zip(features, references, strict=True):
        if spec.kind == "numeric":
            difference = f"({reference} - {writer.real(center[start])})"
            # A missing value (NULL) adds nothing: the distance over observed columns.
            terms.append(f"COALESCE({difference} * {difference}, 0.0)")
            continue
        constants = _block_constants(spec, center[start : start + len(spec.levels)])
        branches = " ".join(
            f"WHEN {level} THEN {writer.real_constant(value)}"
            for level, value in enumerate(constants[:-1])
        )
        terms.append(f"CASE {reference} {branches} ELSE {writer.real_constant(constants[-1])} END")
    return " + ".join(terms)


def _segment_id_literals(segment_ids, n_clusters, writer):
    if segment_ids is None:
        return [str(i) for i in range(n_clusters)]
    if isinstance(segment_ids, dict):
        absent = [i for i in range(n_clusters) if i not in segment_ids]
        if absent:
            raise ValueError(
                f"segment_ids has no id for center(s) {absent}; map every center index "
                f"0..{n_clusters - 1} to an id."
            )
        ids = [segment_ids[i] for i in range(n_clusters)]
    else:
        ids = list(segment_ids)
        if len(ids) != n_clusters:
            raise ValueError(
                f"segment_ids has {len(ids)} id(s) for {n_clusters} centers; give one per center."
            )
    if len(set(ids)) != len(ids):
        raise ValueError(f"segment_ids must be distinct; got {ids}.")
    for value in ids:
        if isinstance(value, bool) or not isinstance(value, (numbers.Integral, str)):
            raise TypeError(f"segment ids must be integers or strings; got {value!r}.")
    return [writer.literal(value, "segment id") for value in ids]


def _nearest_case(distances, minimum, ids, incomplete):
    branches = []
    if incomplete:
        branches.append(f"WHEN {' OR '.join(incomplete)} THEN NULL")
    for distance, segment_id in zip(distances[:-1], ids[:-1], strict=True):
        branches.append(f"WHEN {distance} = {minimum} THEN {segment_id}")
    if not branches:
        return ids[-1]  # one center and every row placeable
    return f"CASE {' '.join(branches)} ELSE {ids[-1]} END"


def segmentation_to_sql(
    segmentation,
    dialect,
    *,
    table=None,
    columns=None,
    segment_ids=None,
    view_name=None,
    output_column="segment_id",
):
    """SQL that assigns every row of a table to its nearest segment.

    Parameters
    ----------
    segmentation : Segmentation
        A fitted (or rebuilt) :class:`centroids.segments.segmentation.Segmentation`.
    dialect : {'sqlite', 'postgresql'} or SQLAlchemy engine
        The database the SQL is for.
    table : str, (schema, name) or None, default=None
        The table (or view) holding the raw rows. None returns only the scalar
        expression, to put in a SELECT of your own over a table with the feature columns
        (it repeats each feature's arithmetic once per center, so it is longer than the
        full query).
    columns : list of str or None, default=None
        Columns of the table to return next to the segment id. None returns the
        segmentation's ``id_column`` when it has one, else its feature columns.
    segment_ids : dict or sequence, default=None
        The id to return for each center index (stable ids from a segment store); ints
        or strings. None returns the center index.
    view_name : str or None, default=None
        Return ``CREATE VIEW <view_name> AS SELECT ...`` instead (needs ``table``).
    output_column : str, default='segment_id'
        Name of the segment id column.

    Returns
    -------
    str
        A SELECT statement, a CREATE VIEW statement, or (``table=None``) an expression.
        The segment is NULL where :meth:`Segmentation.predict` gives -1 (a row with
        every feature missing); a row with some missing numeric values is placed by its
        observed columns, as predict places it.

    Examples
    --------
    >>> import sqlite3
    >>> import pandas as pd
    >>> from centroids.segments.segmentation import Segmentation
    >>> df = pd.DataFrame({"id": range(6), "x": [0.0, 0.1, 0.2, 5.0, 5.1, 5.2]})
    >>> seg = Segmentation(n_clusters=2, id_column="id", random_state=0).fit(df)
    >>> connection = sqlite3.connect(":memory:")
    >>> _ = df.to_sql("people", connection, index=False)
    >>> sql = segmentation_to_sql(seg, "sqlite", table="people")
    >>> dict(connection.execute(sql)) == dict(zip(df["id"], seg.predict(df).tolist()))
    True
    """
    if not hasattr(segmentation, "preparation_"):
        raise TypeError(
            "segmentation_to_sql needs a fitted Segmentation (call fit, or rebuild one with "
            f"Segmentation.from_dict); got {type(segmentation).__name__}."
        )
    writer = _Writer(_dialect_name(dialect))
    preparation = segmentation.preparation_
    centers = [[float(v) for v in row] for row in segmentation.centers_]
    ids = _segment_id_literals(segment_ids, len(centers), writer)
    features, incomplete = _feature_expressions(preparation, writer)
    writer.identifier(output_column, "output_column")  # checked whatever is returned

    if table is None:
        if view_name is not None:
            raise ValueError("view_name needs a table to select from; pass table=...")
        expressions = [f"({expression})" for expression, _, _ in features]
        distances = [f"({_sq_distance(features, expressions, c, writer)})" for c in centers]
        return _nearest_case(distances, writer.least(distances), ids, incomplete)

    sql = _scoring_query(
        writer, table, _returned_columns(preparation, columns), output_column, features,
        incomplete, centers, ids,
    )  # fmt: skip
    if view_name is not None:
        return f"CREATE VIEW {writer.identifier(view_name, 'view_name')} AS\n{sql}"
    return sql


def _returned_columns(preparation, columns):
    """The table's columns returned next to the segment: as given, else the id column
    (or, without one, the feature columns)."""
    if columns is None:
        id_column = getattr(preparation, "id_column", None)
        columns = [id_column] if id_column else list(preparation.feature_names_)
    if isinstance(columns, str):
        columns = [columns]
    return columns


def _query_aliases(columns, output_column, features, n_centers, incomplete):
    """Names of the query's inner columns (features, distances, their minimum, the
    incomplete-row flag), each one taken by no returned column nor by another."""
    taken = {c.lower() for c in columns} | {output_column.lower()}

    def alias(stem):
        name = stem
        while name.lower() in taken:
            name = "_" + name
        taken.add(name.lower())
        return name

    feature_aliases = [
        alias(f"_centroids_z{j}" if spec.kind == "numeric" else f"_centroids_level{j}")
        for j, (_, spec, _) in enumerate(features)
    ]
    distance_aliases = [alias(f"_centroids_d{i}") for i in range(n_centers)]
    minimum_alias = alias("_centroids_dmin")
    incomplete_alias = alias("_centroids_incomplete") if incomplete else None
    return feature_aliases, distance_aliases, minimum_alias, incomplete_alias


def _fenced_query(
    writer, table, passthrough, carried, prepared_columns, distance_columns, d_refs, nearest,
    minimum,
):  # fmt: skip
    """The three nested SELECTs (prepared features, distances, their minimum) behind
    optimisation fences, and the outer SELECT of the nearest segment."""
    indent = "\n    "
    return (
        f"SELECT {', '.join([*passthrough, nearest])}\n"
        f"FROM (\n  SELECT {', '.join([*carried, *d_refs])}, "
        f"{writer.least(d_refs)} AS {minimum}\n"
        f"  FROM (\n    SELECT {', '.join(carried)},{indent}"
        f"{(',' + indent).join(distance_columns)}\n"
        f"    FROM (\n      SELECT {(',' + indent + '  ').join(prepared_columns)}\n"
        f"      FROM {writer.table(table)}\n"
        f"      {writer.fence}\n"
        f"    ) AS centroids_prepared\n"
        f"    {writer.fence}\n"
        f"  ) AS centroids_distances\n"
        f"  {writer.fence}\n"
        f") AS centroids_scored"
    )


def _scoring_query(writer, table, columns, output_column, features, incomplete, centers, ids):
    """The full query: the returned columns and the nearest segment of every row of
    ``table``."""
    output = writer.identifier(output_column, "output_column")
    passthrough = [writer.identifier(c, "column name") for c in columns]
    feature_aliases, distance_aliases, minimum_alias, incomplete_alias = _query_aliases(
        columns, output_column, features, len(centers), incomplete
    )
    q = writer._preparer.quote_identifier
    carried = [*passthrough, *([q(incomplete_alias)] if incomplete else [])]

    prepared_columns = [*passthrough]
    if incomplete:
        prepared_columns.append(
            f"CASE WHEN {' OR '.join(incomplete)} THEN 1 ELSE 0 END AS {q(incomplete_alias)}"
        )
    prepared_columns += [
        f"{expression} AS {q(a)}"
        for (expression, _, _), a in zip(features, feature_aliases, strict=True)
    ]
    z_refs = [q(a) for a in feature_aliases]
    distance_columns = [
        f"{_sq_distance(features, z_refs, c, writer)} AS {q(a)}"
        for c, a in zip(centers, distance_aliases, strict=True)
    ]
    d_refs = [q(a) for a in distance_aliases]
    nearest = _nearest_case(
        d_refs,
        q(minimum_alias),
        ids,
        [f"{q(incomplete_alias)} = 1"] if incomplete else [],
    )
    return _fenced_query(
        writer, table, passthrough, carried, prepared_columns, distance_columns, d_refs,
        f"{nearest} AS {output}", q(minimum_alias),
    )  # fmt: skip
