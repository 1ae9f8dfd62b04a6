"""Clustering text documents: TF-IDF vectors, spherical k-means, the terms of each cluster.

:func:`read_documents` reads the texts from a CSV/TSV, Parquet, JSON-lines or plain text
file; :func:`cluster_documents` turns them into TF-IDF vectors with scikit-learn's
:class:`~sklearn.feature_extraction.text.TfidfVectorizer` (a sparse matrix, never
densified), clusters them by cosine similarity with
:class:`~centroids.models.spherical.SphericalKMeans`, and names every cluster by its most
distinctive terms. The result, :class:`DocumentClusters`, gives the labels, sizes, terms,
the fitted vectorizer and model, and :meth:`DocumentClusters.to_frame` for a labels file.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer

from ..models.spherical import SphericalKMeans

__all__ = ["DocumentClusters", "cluster_documents", "read_documents"]

#: File suffixes :func:`read_documents` reads as tables; anything else is plain text.
TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq", ".jsonl", ".ndjson", ".json")


@dataclass
class DocumentClusters:
    """What :func:`cluster_documents` found.

    Attributes
    ----------
    labels : ndarray of shape (n_documents,), int
        Cluster of every document, in the order given; -1 for a document with no term
        of the vocabulary (its TF-IDF vector is zero: it has no direction to cluster).
    similarity : ndarray of shape (n_documents,), float
        Cosine similarity of every document to its cluster's center (NaN for -1).
    sizes : ndarray of shape (n_clusters,), int
        Number of documents in each cluster.
    top_terms : list of list of str
        For every cluster, its ``n_top_terms`` most distinctive terms, best first: the
        terms whose weight in the cluster's center most exceeds their weight in the
        center of the whole corpus (terms common everywhere rank low).
    top_term_scores : list of ndarray
        Those excesses, aligned with ``top_terms``.
    vectorizer : TfidfVectorizer
        The fitted vectorizer (``vectorizer.transform(new_texts)`` gives vectors that
        ``model.predict`` can label).
    model : SphericalKMeans
        The fitted model, over the documents that have a vocabulary term.
    index : pandas.Index
        The documents' identifiers: the index of a Series of texts, else 0..n-1.
    """

    labels: np.ndarray
    similarity: np.ndarray
    sizes: np.ndarray
    top_terms: list
    top_term_scores: list
    vectorizer: TfidfVectorizer
    model: SphericalKMeans
    index: pd.Index

    @property
    def n_unclustered(self):
        """Number of documents with no vocabulary term (label -1)."""
        return int(np.count_nonzero(self.labels < 0))

    def to_frame(self):
        """One row per document: its ``cluster`` and its ``similarity`` to the center.

        Indexed by :attr:`index` (named ``document`` unless the texts' index had a name).

        Examples
        --------
        >>> texts = ["red apple fruit", "green apple fruit", "fast car road", "red car road"]
        >>> result = cluster_documents(texts, 2, min_df=1, max_df=1.0)
        >>> frame = result.to_frame()
        >>> list(frame.columns), len(frame)
        (['cluster', 'similarity'], 4)
        """
        index = self.index.copy()
        if index.name is None:
            index.name = "document"
        return pd.DataFrame({"cluster": self.labels, "similarity": self.similarity}, index=index)

    def terms_frame(self):
        """One row per (cluster, rank): the term and its score; for reports and files."""
        rows = [
            (cluster, rank, term, float(score))
            for cluster, (terms, scores) in enumerate(
                zip(self.top_terms, self.top_term_scores, strict=True)
            )
            for rank, (term, score) in enumerate(zip(terms, scores, strict=True))
        ]
        return pd.DataFrame(rows, columns=["cluster", "rank", "term", "score"])


def _texts_and_index(texts):
    if isinstance(texts, pd.DataFrame):
        raise TypeError(
            "texts must be a sequence of strings or a pandas Series, not a DataFrame: "
            "pass the text column, e.g. frame['text']."
        )
    if isinstance(texts, str):
        raise TypeError("texts must be a sequence of strings, not one string: wrap it in a list.")
    if isinstance(texts, pd.Series):
        index = texts.index
        values = texts.tolist()
    else:
        values = list(texts)
        index = pd.RangeIndex(len(values))
    for position, value in enumerate(values):
        if not isinstance(value, str):
            raise TypeError(
                f"texts must hold strings, but document {index[position]!r} is "
                f"{type(value).__name__} ({value!r}). Convert or drop it (read_documents "
                "drops empty and missing texts)."
            )
    if not values:
        raise ValueError("texts is empty: there is no document to cluster.")
    return values, index


def _vectorize(values, vectorizer):
    try:
        return vectorizer.fit_transform(values)
    except ValueError as error:
        message = str(error)
        if "empty vocabulary" in message:
            hint = (
                "no term is left after removing stop words and applying min_df/max_df: "
                "lower min_df, raise max_df, or pass stop_words=None"
            )
        elif "max_df corresponds to" in message:
            hint = (
                f"with {len(values)} documents, max_df keeps fewer documents than min_df "
                "asks for: raise max_df or lower min_df"
            )
        else:
            raise
        raise ValueError(f"Cannot build the TF-IDF vocabulary: {hint} ({message}).") from error


def _row_similarity(X, centers, labels):
    """Dot product of every CSR row of X with ``centers[labels]`` (O(nnz), no n × d)."""
    rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    contributions = X.data.astype(np.float64) * centers[labels[rows], X.indices]
    return np.bincount(rows, weights=contributions, minlength=X.shape[0])


def _distinctive_terms(model, X, terms, n_top_terms):
    """Per cluster: (terms, scores) of center weight minus the corpus center's weight."""
    corpus = np.asarray(X.sum(axis=0), dtype=np.float64).ravel()
    corpus /= max(np.linalg.norm(corpus), np.finfo(np.float64).tiny)
    top_terms, top_scores = [], []
    for center in model.cluster_centers_.astype(np.float64):
        excess = center - corpus
        order = np.argsort(-excess, kind="stable")[:n_top_terms]
        order = order[excess[order] > 0]
        top_terms.append([str(terms[j]) for j in order])
        top_scores.append(excess[order])
    return top_terms, top_scores


def cluster_documents(
    texts,
    n_clusters,
    *,
    max_features=50_000,
    min_df=2,
    max_df=0.9,
    stop_words="english",
    ngram_range=(1, 1),
    n_top_terms=10,
    random_state=0,
):
    """Cluster texts by topic: TF-IDF vectors, spherical k-means, distinctive terms.

    Parameters
    ----------
    texts : sequence of str or pandas.Series of str
        The documents. A Series' index identifies them in :meth:`DocumentClusters.to_frame`.
    n_clusters : int
        Number of clusters (topics), at least 1.
    max_features : int or None, default=50_000
        Keep only the most frequent terms (over the corpus), at most this many.
    min_df : int or float, default=2
        Ignore terms in fewer documents than this (a float: a share of the documents).
    max_df : int or float, default=0.9
        Ignore terms in more than this share of the documents (an int: a count).
    stop_words : 'english', list of str or None, default='english'
        Words removed before counting (scikit-learn's English list by default).
    ngram_range : (int, int), default=(1, 1)
        Lengths of the word n-grams counted as terms; (1, 2) adds word pairs.
    n_top_terms : int, default=10
        How many distinctive terms to keep per cluster.
    random_state : int, RandomState instance or None, default=0
        Seed of the spherical k-means seeding; the same seed gives the same clusters.

    Returns
    -------
    DocumentClusters
        Labels (-1 for documents without a vocabulary term), sizes, top terms, the
        fitted vectorizer and model.

    Examples
    --------
    >>> texts = [
    ...     "apple banana fruit salad", "banana apple fruit juice", "fruit apple banana pie",
    ...     "car engine road wheel", "wheel car road trip", "engine road car repair",
    ... ]
    >>> result = cluster_documents(texts, 2, min_df=2, max_df=1.0)
    >>> result.sizes.tolist()
    [3, 3]
    >>> bool(result.labels[0] == result.labels[1] == result.labels[2] != result.labels[3])
    True
    >>> sorted(result.top_terms[result.labels[3]][:3])
    ['car', 'engine', 'road']
    """
    if isinstance(n_clusters, bool) or not isinstance(n_clusters, (int, np.integer)):
        raise TypeError(f"n_clusters must be an integer, got {n_clusters!r}")
    if n_clusters < 1:
        raise ValueError(f"n_clusters must be at least 1, got {n_clusters}")
    if isinstance(n_top_terms, bool) or not isinstance(n_top_terms, (int, np.integer)):
        raise TypeError(f"n_top_terms must be an integer, got {n_top_terms!r}")
    if n_top_terms < 1:
        raise ValueError(f"n_top_terms must be at least 1, got {n_top_terms}")
    values, index = _texts_and_index(texts)
    vectorizer = TfidfVectorizer(
        max_features=max_features,
        min_df=min_df,
        max_df=max_df,
        stop_words=stop_words,
        ngram_range=tuple(ngram_range),
        dtype=np.float32,
    )
    X = _vectorize(values, vectorizer)
    has_terms = np.diff(X.indptr) > 0
    n_with_terms = int(np.count_nonzero(has_terms))
    if n_with_terms < n_clusters:
        raise ValueError(
            f"Only {n_with_terms} of {len(values)} documents contain a term of the "
            f"vocabulary, fewer than n_clusters={n_clusters}: lower n_clusters, or keep more "
            "terms (lower min_df, raise max_df, stop_words=None)."
        )
    X_terms = X[has_terms]
    model = SphericalKMeans(n_clusters=n_clusters, random_state=random_state).fit(X_terms)
    labels = np.full(len(values), -1, dtype=np.int64)
    labels[has_terms] = model.labels_
    similarity = np.full(len(values), np.nan)
    similarity[has_terms] = _row_similarity(
        X_terms, model.cluster_centers_.astype(np.float64), model.labels_
    )
    terms = vectorizer.get_feature_names_out()
    top_terms, top_scores = _distinctive_terms(model, X_terms, terms, n_top_terms)
    return DocumentClusters(
        labels=labels,
        similarity=similarity,
        sizes=np.bincount(model.labels_, minlength=n_clusters),
        top_terms=top_terms,
        top_term_scores=top_scores,
        vectorizer=vectorizer,
        model=model,
        index=index,
    )


def _read_table(path, suffix):
    if suffix in (".csv", ".tsv"):
        return pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", dtype=str)
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if suffix == ".json" and _starts_with_array(path):
        return pd.read_json(path, dtype=False)
    try:
        return pd.read_json(path, lines=True, dtype=False)
    except ValueError as error:
        raise ValueError(
            f"{path.name} is not valid JSON lines (one object per line) nor a JSON array of "
            f"objects: {error}"
        ) from error


def _starts_with_array(path):
    """Whether a JSON file's first non-blank character opens an array."""
    with open(path, encoding="utf-8") as file:
        for line in file:
            if line.strip():
                return line.lstrip().startswith("[")
    return False


def read_documents(path, text_column=None):
    """Read documents from a table file (a column of texts) or a plain text file.

    Parameters
    ----------
    path : str or path-like
        ``.csv``, ``.tsv``, ``.parquet``/``.pq``, ``.jsonl``/``.ndjson`` (JSON lines; a
        ``.json`` file may also be one array of objects): a table whose ``text_column``
        holds one document per row. Any other suffix: plain UTF-8 text, one document per
        line.
    text_column : str, optional
        The column of texts; required for tables, ignored for plain text.

    Returns
    -------
    pandas.Series of str
        The non-empty documents, indexed by their row (or line) number in the file,
        counted from 0. Empty, blank and missing texts are dropped with a UserWarning
        that counts them; ``series.attrs["n_dropped_empty"]`` holds the count.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "notes.txt").write_text("first document\\n\\nthird document\\n")
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     documents = read_documents(folder / "notes.txt")
    >>> documents.to_dict()
    {0: 'first document', 2: 'third document'}
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No file at {path}: give the path of the documents file.")
    suffix = path.suffix.lower()
    if suffix in TABLE_SUFFIXES:
        if text_column is None:
            raise ValueError(
                f"{path.name} is a table: pass text_column, the column that holds the texts."
            )
        table = _read_table(path, suffix)
        if text_column not in table.columns:
            available = ", ".join(repr(str(c)) for c in table.columns[:50])
            raise ValueError(
                f"{path.name} has no column {text_column!r}; its columns are: {available}."
            )
        column = table[text_column].reset_index(drop=True)
        texts = column.map(lambda v: v if isinstance(v, str) else (None if pd.isna(v) else str(v)))
        where = "row"
    else:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as error:
            raise ValueError(
                f"{path.name} is not UTF-8 text ({error}); convert it to UTF-8, or save the "
                "documents as a CSV, Parquet or JSON-lines table."
            ) from error
        texts = pd.Series(lines, dtype=object)
        where = "line"
    empty = texts.isna() | (texts.fillna("").str.strip() == "")
    n_empty = int(empty.sum())
    if n_empty == len(texts):
        raise ValueError(
            f"{path.name} holds no document: every {where} ({len(texts)}) is empty"
            + (f" in column {text_column!r}." if where == "row" else ".")
        )
    documents = texts[~empty].astype(str)
    documents.name = text_column if where == "row" else "text"
    documents.attrs["n_dropped_empty"] = n_empty
    if n_empty:
        warnings.warn(
            f"Dropped {n_empty} empty document(s) of {len(texts)} in {path.name} (first at "
            f"{where} {int(np.flatnonzero(empty.to_numpy())[0])}).",
            UserWarning,
            stacklevel=2,
        )
    return documents
