"""``to_dict()`` of the result objects: plain types, ready for JSON."""

import json

import numpy as np
from sklearn.datasets import make_blobs

from centroids.evaluate.choose_k import choose_k
from centroids.evaluate.diagnose import Finding, Severity, diagnose


def test_finding_to_dict_gives_the_named_fields_in_order_with_the_severity_by_name():
    finding = Finding("outliers", Severity.WARNING, "t", "o", "w", "a", {"n": np.int64(3)})
    assert finding.to_dict() == {
        "code": "outliers",
        "severity": "warning",
        "title": "t",
        "observed": "o",
        "why": "w",
        "action": "a",
    }
    assert list(finding.to_dict(("title", "code"))) == ["title", "code"]
    assert finding.to_dict(("details",)) == {"details": {"n": 3}}


def test_diagnosis_and_choose_k_results_are_json_ready():
    X, _ = make_blobs(200, centers=3, n_features=2, random_state=0)
    diagnosis = diagnose(X, n_clusters=3, random_state=0)
    plain = diagnosis.to_dict()
    json.dumps(plain)  # no NumPy type, no object left
    assert plain["rows"] == 200 and plain["clusters"] == 3
    assert [f["code"] for f in plain["findings"]] == [f.code for f in diagnosis.findings]

    result = choose_k(X, range(2, 5), n_references=2, n_stability=1, random_state=0)
    plain = result.to_dict()
    assert plain["k"] == result.k
    assert [row["k"] for row in plain["table"]] == [2, 3, 4]
    assert "models" not in plain
    json.dumps(plain)
