"""Judging clusters: metrics, choosing K, diagnosis, explanations."""

from .diagnose import Diagnosis, Finding, Severity, diagnose
from .explain import Explanation, explain
from .metrics import (
    SilhouetteEstimate,
    calinski_harabasz_score,
    davies_bouldin_score,
    inertia,
    silhouette_estimate,
    silhouette_samples,
    silhouette_score,
    simplified_silhouette_samples,
    simplified_silhouette_score,
)

__all__ = [
    "Diagnosis",
    "Explanation",
    "Finding",
    "Severity",
    "SilhouetteEstimate",
    "calinski_harabasz_score",
    "davies_bouldin_score",
    "diagnose",
    "explain",
    "inertia",
    "silhouette_estimate",
    "silhouette_samples",
    "silhouette_score",
    "simplified_silhouette_samples",
    "simplified_silhouette_score",
]
