"""Judging clusters: metrics, choosing K, diagnosis, explanations."""

from .choose_k import ChooseKResult, choose_k
from .diagnose import Diagnosis, Finding, Severity, diagnose
from .explain import Explanation, explain
from .gap import GapStatistic, ReferenceSampler, gap_statistic, tibshirani_k
from .knee import Kneedle, find_knee, kneedle
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
    "ChooseKResult",
    "Diagnosis",
    "Explanation",
    "Finding",
    "GapStatistic",
    "Kneedle",
    "ReferenceSampler",
    "Severity",
    "SilhouetteEstimate",
    "calinski_harabasz_score",
    "choose_k",
    "davies_bouldin_score",
    "diagnose",
    "explain",
    "find_knee",
    "gap_statistic",
    "inertia",
    "kneedle",
    "silhouette_estimate",
    "silhouette_samples",
    "silhouette_score",
    "simplified_silhouette_samples",
    "simplified_silhouette_score",
    "tibshirani_k",
]
