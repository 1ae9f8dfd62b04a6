"""Document clustering on a synthetic corpus of known topics, and reading document files."""

import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.metrics import adjusted_rand_score

from centroids.apps.documents import DocumentClusters, cluster_documents, read_documents

TOPICS = ("astronomy", "cooking", "finance", "football", "medicine")


def topic_vocabulary(topic, size=40):
    """Distinct made-up words of one topic: 'astronomyab', 'astronomyac', ..."""
    letters = "abcdefghij"
    return [f"{topic}{a}{b}" for a in letters for b in letters][:size]


SHARED_WORDS = [f"common{a}{b}" for a in "klmnop" for b in "klmnop"]  # in every topic


def synthetic_corpus(n_documents=400, topic_share=0.6, seed=0):
    """(texts, topic of every text): each text mixes its topic's words with shared ones.

    Words are drawn Zipf-like (a few frequent, many rare), so TF-IDF has the usual shape.
    """
    rng = np.random.default_rng(seed)
    topics = rng.integers(len(TOPICS), size=n_documents)
    ranks = np.arange(1, 41)
    topic_p = (1 / ranks) / (1 / ranks).sum()
    texts = []
    for topic in topics:
        length = int(rng.integers(20, 60))
        n_topic = rng.binomial(length, topic_share)
        words = list(rng.choice(topic_vocabulary(TOPICS[topic]), size=n_topic, p=topic_p))
        words += list(rng.choice(SHARED_WORDS, size=length - n_topic))
        rng.shuffle(words)
        texts.append(" ".join(words))
    return texts, topics


@pytest.fixture(scope="module")
def corpus():
    return synthetic_corpus()


@pytest.fixture(scope="module")
def clustered(corpus):
    texts, _ = corpus
    return cluster_documents(texts, len(TOPICS), random_state=0)


def test_clusters_recover_the_topics(corpus, clustered):
    _, topics = corpus
    assert isinstance(clustered, DocumentClusters)
    assert adjusted_rand_score(topics, clustered.labels) > 0.9
    assert clustered.sizes.sum() == len(topics)
    assert_array_equal(clustered.sizes, np.bincount(clustered.labels, minlength=len(TOPICS)))


def test_top_terms_come_from_the_clusters_topic(corpus, clustered):
    _, topics = corpus
    for cluster, terms in enumerate(clustered.top_terms):
        majority = np.bincount(topics[clustered.labels == cluster]).argmax()
        assert len(terms) == 10
        assert set(terms) <= set(topic_vocabulary(TOPICS[majority])), (cluster, terms)
        scores = clustered.top_term_scores[cluster]
        assert (np.diff(scores) <= 0).all() and (scores > 0).all()
    # The most frequent words of a topic lead its list.
    first_terms = {terms[0] for terms in clustered.top_terms}
    assert first_terms == {topic_vocabulary(topic)[0] for topic in TOPICS}


def test_shared_words_never_rank_as_distinctive(clustered):
    for terms in clustered.top_terms:
        assert not any(term.startswith("common") for term in terms)


def test_similarity_is_the_cosine_to_the_own_center(corpus, clustered):
    texts, _ = corpus
    X = clustered.vectorizer.transform(texts).toarray()
    centers = clustered.model.cluster_centers_.astype(np.float64)
    expected = (X * centers[clustered.labels]).sum(axis=1)
    assert_allclose(clustered.similarity, expected, rtol=1e-5)
    assert_array_equal(clustered.model.predict(X), clustered.labels)


def test_to_frame_and_terms_frame(clustered, corpus):
    frame = clustered.to_frame()
    assert list(frame.columns) == ["cluster", "similarity"]
    assert frame.index.name == "document" and len(frame) == len(corpus[0])
    assert_array_equal(frame["cluster"].to_numpy(), clustered.labels)
    terms = clustered.terms_frame()
    assert list(terms.columns) == ["cluster", "rank", "term", "score"]
    assert len(terms) == sum(len(t) for t in clustered.top_terms)
    assert terms.loc[terms["cluster"] == 2, "term"].tolist() == clustered.top_terms[2]


def test_same_seed_same_clusters(corpus, clustered):
    texts, _ = corpus
    again = cluster_documents(texts, len(TOPICS), random_state=0)
    assert_array_equal(again.labels, clustered.labels)
    assert again.top_terms == clustered.top_terms


def test_series_index_and_documents_without_vocabulary_terms(corpus):
    texts, topics = corpus
    # The last two keep no term: one word in one document only (min_df=2), stop words.
    texts = [*texts[:100], "zzzunique", "the and of"]
    series = pd.Series(texts, index=pd.Index([f"doc{i}" for i in range(len(texts))], name="id"))
    result = cluster_documents(series, len(TOPICS), random_state=0)
    assert result.n_unclustered == 2
    assert result.labels[-2:].tolist() == [-1, -1]
    assert np.isnan(result.similarity[-2:]).all()
    assert result.sizes.sum() == 100
    frame = result.to_frame()
    assert frame.index.name == "id" and frame.index[-1] == "doc101"
    assert frame.loc["doc100", "cluster"] == -1
    assert adjusted_rand_score(topics[:100], result.labels[:100]) > 0.9


def test_bigrams_and_top_term_count(corpus):
    texts, _ = corpus
    result = cluster_documents(texts[:200], 3, ngram_range=(1, 2), n_top_terms=4, random_state=1)
    assert all(len(terms) <= 4 for terms in result.top_terms)
    assert any(" " in term for term in result.vectorizer.get_feature_names_out())


@pytest.mark.parametrize(
    ("texts", "kwargs", "error", "match"),
    [
        (["a b"], {"n_clusters": 0}, ValueError, "at least 1"),
        (["a b"], {"n_clusters": 2.0}, TypeError, "integer"),
        (pd.DataFrame({"text": ["x"]}), {"n_clusters": 1}, TypeError, "text column"),
        ("one string", {"n_clusters": 1}, TypeError, "not one string"),
        (["fine text", None], {"n_clusters": 1}, TypeError, "document 1"),
        ([], {"n_clusters": 1}, ValueError, "no document"),
        (["the and", "of the"], {"n_clusters": 1}, ValueError, "stop_words=None"),
        (["apple pear", "apple plum", "kiwi"], {"n_clusters": 3}, ValueError, "Only 2 of 3"),
        (["a1 b1", "a1 c1"], {"n_clusters": 1, "min_df": 3}, ValueError, "raise max_df"),
        (["ab cd"], {"n_clusters": 1, "n_top_terms": 0}, ValueError, "n_top_terms"),
    ],
)
def test_bad_arguments_raise_clear_errors(texts, kwargs, error, match):
    with pytest.raises(error, match=match):
        cluster_documents(texts, **kwargs)


# -- read_documents ------------------------------------------------------------------


TABLE = pd.DataFrame({"id": [1, 2, 3, 4], "body": ["first text", "", None, "fourth text"]})


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet", ".jsonl", ".json"])
def test_reads_tables_and_drops_empty_texts_with_a_count(tmp_path, suffix):
    path = tmp_path / f"docs{suffix}"
    if suffix == ".csv":
        TABLE.to_csv(path, index=False)
    elif suffix == ".tsv":
        TABLE.to_csv(path, index=False, sep="\t")
    elif suffix == ".parquet":
        TABLE.to_parquet(path)
    else:
        TABLE.to_json(path, orient="records", lines=suffix == ".jsonl")
    with pytest.warns(UserWarning, match=r"Dropped 2 empty document\(s\) of 4 .* row 1"):
        documents = read_documents(path, "body")
    assert documents.to_dict() == {0: "first text", 3: "fourth text"}
    assert documents.attrs["n_dropped_empty"] == 2
    assert documents.name == "body"


def test_reads_plain_text_one_document_per_line(tmp_path):
    path = tmp_path / "docs.txt"
    path.write_text("alpha beta\n   \ngamma delta\n", encoding="utf-8")
    with pytest.warns(UserWarning, match="line 1"):
        documents = read_documents(path)
    assert documents.to_dict() == {0: "alpha beta", 2: "gamma delta"}


def test_no_warning_when_nothing_is_dropped(tmp_path):
    path = tmp_path / "docs.txt"
    path.write_text("alpha\nbeta\n", encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        documents = read_documents(path)
    assert documents.attrs["n_dropped_empty"] == 0 and len(documents) == 2


def test_missing_column_lists_the_available_ones(tmp_path):
    path = tmp_path / "docs.csv"
    TABLE.to_csv(path, index=False)
    with pytest.raises(ValueError, match="no column 'text'; its columns are: 'id', 'body'"):
        read_documents(path, "text")
    with pytest.raises(ValueError, match="pass text_column"):
        read_documents(path)


def test_all_empty_and_unreadable_files_raise(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n \n", encoding="utf-8")
    with pytest.raises(ValueError, match="holds no document"):
        read_documents(empty)
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(ValueError, match="not UTF-8"):
        read_documents(latin)
    with pytest.raises(FileNotFoundError, match="No file"):
        read_documents(tmp_path / "missing.csv", "body")


def test_read_then_cluster_end_to_end(tmp_path, corpus):
    texts, topics = corpus
    path = tmp_path / "corpus.parquet"
    pd.DataFrame({"text": texts}).to_parquet(path)
    documents = read_documents(path, "text")
    result = cluster_documents(documents, len(TOPICS), random_state=0)
    assert adjusted_rand_score(topics, result.labels) > 0.9
    assert result.to_frame().index.tolist() == list(range(len(texts)))
