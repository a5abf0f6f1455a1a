"""Customer segmentation: clusters of customers with similar behaviour, named and profiled.

:func:`fit_segments` clusters a customer feature table (one row per customer, e.g.
:func:`portfolio_helpers.analysis.features.customer_features`); :func:`stability` checks that the
clusters survive a bootstrap; :func:`profiles` and :func:`name_clusters` describe them in
plain words; :func:`pca_projection` gives a 2-D map; :func:`segment_migration` follows
customers between two segmentations. :func:`lifecycle_stages` and :func:`stage_funnel`
place every contact on the lead-to-customer lifecycle.

Pipeline of :func:`fit_segments`
--------------------------------
1. **Features.** By default the behavioural columns of :data:`DEFAULT_NUMERIC` that are in
   the table (recency, frequency, monetary value, order value, discount share, return
   rate, days late, service minutes, margin rate) and ``customer_type`` as the only
   categorical attribute; constant and near-constant ones are dropped (see below).
   Orders per year and tenure are left out: for the many customers who bought once they
   only restate recency. Without any of those, every numeric column except
   ``customer_id``. ``revenue_trend`` and the product-mix shares are left out by default:
   the trend is a ratio with extreme values for new customers and the mix splits
   customers by what they buy rather than how; pass ``numeric=`` to use them.
   Missing numeric values are replaced by the column median.
2. **Log transform.** A numeric column whose skewness is above 1 is transformed with
   ``log1p`` when it has no negative value, and with the signed ``sign(x) * log1p(|x|)``
   otherwise (e.g. days late, negative when customers pay early), so that a few very
   large customers do not decide the clusters on their own.
3. **Robust scaling.** :class:`sklearn.preprocessing.RobustScaler` centred on the median
   and scaled by the 5th-95th percentile range (``unit_variance=True``: one unit is about
   one standard deviation of a normal variable). The wide range matters: most customers
   share the same value of some traits (no ticket, paid at checkout), which makes the
   usual interquartile range 0 or tiny and would blow those traits up. A column whose
   5-95 range is still 0 is scaled by its standard deviation instead.
4. **Categorical attributes** are one-hot encoded (a missing value is a category of its
   own) and multiplied by ``categorical_weight`` (default 0.5): two customers that differ
   in one attribute are ``sqrt(2) * 0.5 ≈ 0.7`` apart on it, against about 1 for one
   standard deviation of a numeric trait. 0 ignores the attributes; 1 or more lets them
   dominate (clusters tend to split by attribute first).
5. **Clustering.** ``KMeans(n_clusters=k, init="k-means++", n_init=10, random_state=seed)``,
   or :class:`~sklearn.mixture.GaussianMixture` with ``algorithm="gmm"``. Above
   :data:`MINIBATCH_ROWS` (200,000) rows, :class:`~sklearn.cluster.MiniBatchKMeans`
   (batches of 4,096, 3 initialisations) replaces ``KMeans``: within a few percent of the
   same inertia, many times faster. Below
   :data:`~portfolio_helpers.analysis.threads.SINGLE_THREAD_ROWS` (100,000) rows the fits run
   on one thread (:func:`~portfolio_helpers.analysis.threads.single_threaded`): same
   clusters, much faster on a busy machine.

Dropped features
----------------
Before clustering, a feature on which (almost) every customer has the same value is
dropped (:func:`flat_features`): its most frequent value (missing values counted as the
median they are replaced by) covers at least :data:`FLAT_SHARE` (95%) of the customers.
Such a column cannot separate segments; it only adds noise, and a constant one (a profit
margin of 40% for everyone when no cost is configured) would otherwise show up as a
"top feature" of every segment. The result lists them in ``dropped``.

Choosing k
----------
For each k of ``k_range`` (2 to 8 by default): inertia (within-cluster sum of squares),
silhouette (on a seeded sample of at most 10,000 rows, the same sample for every k, whose
pairwise distances are computed once for all k), Calinski-Harabasz and Davies-Bouldin, plus two usability measures: ``smallest_share`` (the share of customers
in the smallest segment) and ``min_features_apart`` (over every pair of segments, the
number of features on which the two differ by a standardized mean difference of at least
:data:`DIFFERENCE_SMD` (0.5): the gap between the two segment means divided by the
standard deviation of the feature over all customers, on the clustering scale; the
smallest count over all pairs).

The suggested k is chosen among the numbers a marketing team can act on,
:data:`ACTIONABLE_K` (3 to 8): a k is *usable* when its smallest segment holds at least
:data:`MIN_SEGMENT_SHARE` (2%) of the customers and every pair of segments differs on at
least :data:`MIN_FEATURES_APART` (2) features. Among usable k, the best silhouette wins
(how much closer each customer is to its own segment than to the next one); k values
within 0.01 of the best count as tied and the highest Calinski-Harabasz among them wins.
Without a usable k, the k with segments large enough, then any k of the range, is taken
by the same rule. The elbow of the inertia curve (kneedle) is reported beside.

Two segments are often the strongest split (one-time against repeat buyers) but too
coarse to act on: when the silhouette of k = 2 exceeds the best of 3 to 8 by at least
:data:`TWO_WAY_MARGIN` (0.05), ``two_way`` reports it as a finding.

The model of the chosen k is the one fitted while scoring it (same data, k and seed: the
same model a refit would give); :func:`segment_customers` hands its labels to
:func:`stability` as the reference partition instead of fitting it a third time.

Finally, a segment smaller than :data:`MIN_SEGMENT_SHARE` of the customers (possible when
``k`` is imposed or no k of the range is usable) is merged: its customers join the
nearest remaining segment centre; ``merged`` lists what was merged.

Large portfolios
----------------
Above :data:`FIT_SAMPLE` (20,000) customers, the clustering is fitted on a random sample of
:data:`FIT_SAMPLE` customers drawn with ``seed`` (the preparation, log transform and
scaling, still uses every customer): every k is scored on the sample, the model of the
chosen k is fitted on it, then every customer is assigned to its nearest segment (the
nearest centre for k-means, the most likely component for a Gaussian mixture). The
stability bootstrap (:func:`segment_customers`) resamples the same sample, and every
silhouette is measured on a seeded sample of :data:`SILHOUETTE_SAMPLE` customers of it.
20,000 customers place the centres of 3 to 8 segments on a dozen features as well as
millions would. Time and memory of the fits no
longer grow with the number of customers; only the assignment, the scaling and the
profiles do, linearly. ``SegmentationResult.fit_rows`` holds the sampled rows (``None``
below the threshold, where nothing changes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from portfolio_helpers.analysis.scoring import crm_prospects
from portfolio_helpers.analysis.threads import single_threaded
from portfolio_helpers.core.errors import ValueProblem
from portfolio_helpers.core.files import atomic_to_parquet
from portfolio_helpers.core.validation import require_choice, require_columns, require_count, require_frame

if TYPE_CHECKING:
    from sklearn.preprocessing import RobustScaler

# scikit-learn is imported by the functions that cluster, scale or score: the notebooks that only read
# the saved segments (load_segments, cluster_names: notebook 08) start without it.

__all__ = [
    "DEFAULT_NUMERIC",
    "DEFAULT_CATEGORICAL",
    "MINIBATCH_ROWS",
    "FIT_SAMPLE",
    "SILHOUETTE_SAMPLE",
    "LIFECYCLE_STAGES",
    "FUNNEL_STAGES",
    "SegmentationResult",
    "prepare_matrix",
    "fit_segments",
    "knee_point",
    "stability",
    "profiles",
    "name_clusters",
    "pca_projection",
    "lifecycle_stages",
    "lifecycle_leads",
    "portfolio_stages",
    "cluster_names",
    "stage_funnel",
    "segment_migration",
    "ACTIONABLE_K",
    "SEGMENT_COLUMNS",
    "CustomerSegments",
    "segment_customers",
    "segment_table",
    "save_segments",
    "load_segments",
    "MIN_SEGMENT_SHARE",
    "FLAT_SHARE",
    "MIN_CUSTOMERS",
    "flat_features",
    "segment_separation",
    "merge_small_segments",
]

#: Behavioural features used by default (those present in the table).
DEFAULT_NUMERIC: tuple[str, ...] = (
    "recency_days", "frequency", "monetary", "avg_order_value", "discount_share", "return_rate", "days_late",
    "service_minutes_per_1000", "margin_rate",
)
#: Categorical attributes used by default (those present in the table).
DEFAULT_CATEGORICAL: tuple[str, ...] = ("customer_type",)
#: Above this number of rows, MiniBatchKMeans replaces KMeans.
MINIBATCH_ROWS = 200_000
#: Above this many customers, the clustering is fitted on a seeded sample of this many customers and every
#: customer is then assigned to the nearest segment (see "Large portfolios" in the module documentation).
FIT_SAMPLE = 20_000
#: Maximum rows of the (seeded) sample on which the silhouette is computed.
SILHOUETTE_SAMPLE = 10_000
#: Silhouette difference under which two k count as tied.
SILHOUETTE_TIE = 0.01
#: Mean bootstrap ARI under which :func:`stability` warns.
STABILITY_THRESHOLD = 0.6
SKEW_THRESHOLD = 1.0
#: Numbers of segments a marketing team can act on: the suggested k is taken in this range.
ACTIONABLE_K: tuple[int, int] = (3, 8)
#: Smallest share of customers a proposed segment must hold.
MIN_SEGMENT_SHARE = 0.02
#: A feature whose most frequent value covers this share of the customers is dropped.
FLAT_SHARE = 0.95
#: Standardized mean difference from which two segments count as different on a feature.
DIFFERENCE_SMD = 0.5
#: Features on which every pair of segments must differ for a k to be usable.
MIN_FEATURES_APART = 2
#: Silhouette advantage of k = 2 over the best actionable k from which the two-way split is reported.
TWO_WAY_MARGIN = 0.05
#: Fewest customers with purchases that :func:`segment_customers` clusters: below it, 3 to 8
#: segments would hold a handful of customers each and their profiles would be anecdotes.
MIN_CUSTOMERS = 20
_QUANTILE_RANGE = (5.0, 95.0)

LIFECYCLE_STAGES: tuple[str, ...] = (
    "lead", "prospect", "qualified prospect",
    "customer — new", "customer — active", "customer — at risk", "customer — lapsed",
)
FUNNEL_STAGES: tuple[str, ...] = ("lead", "prospect", "qualified prospect", "customer")
_CRM_STAGES = {"lead": "lead", "prospect": "prospect", "qualified": "qualified prospect",
               "qualified prospect": "qualified prospect", "customer": "customer — new"}
_ENGAGED_EVENTS = ("meeting", "call")


# --------------------------------------------------------------------------------------------------
# Preparation
# --------------------------------------------------------------------------------------------------

@dataclass
class _Preparation:
    numeric: list[str]
    categorical: list[str]
    categorical_weight: float
    fill: dict[str, float]
    transforms: dict[str, str]  # column -> "log1p" | "signed_log1p"
    scaler: RobustScaler
    categories: dict[str, list[str]]

    def transform(self, features: pd.DataFrame) -> pd.DataFrame:
        numeric = _numeric_block(features, self.numeric, self.fill, self.transforms)
        scaled = self.scaler.transform(numeric)
        blocks = [pd.DataFrame(scaled, index=features.index, columns=self.numeric)]
        for col in self.categorical:
            values = features[col].astype("string").fillna("(missing)").to_numpy(dtype=object)
            cats = self.categories[col]
            onehot = (values[:, None] == np.array(cats, dtype=object)[None, :]).astype("float64")
            blocks.append(pd.DataFrame(onehot * self.categorical_weight, index=features.index,
                                       columns=[f"{col}={cat}" for cat in cats]))
        return pd.concat(blocks, axis=1) if len(blocks) > 1 else blocks[0]


def _numeric_block(features: pd.DataFrame, columns: list[str], fill: dict[str, float],
                   transforms: dict[str, str]) -> np.ndarray:
    out = np.empty((len(features), len(columns)), dtype="float64")
    for j, col in enumerate(columns):
        x = pd.to_numeric(features[col], errors="coerce").astype("float64").to_numpy(na_value=np.nan)
        x = np.where(np.isnan(x), fill[col], x)
        kind = transforms.get(col)
        if kind == "log1p":
            x = np.log1p(np.maximum(x, 0.0))
        elif kind == "signed_log1p":
            x = np.sign(x) * np.log1p(np.abs(x))
        out[:, j] = x
    return out


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series)


def _choose_columns(features: pd.DataFrame, numeric, categorical) -> tuple[list[str], list[str]]:
    if numeric is None:
        numeric = [c for c in DEFAULT_NUMERIC if c in features.columns]
        if not numeric:
            numeric = [c for c in features.columns if c != "customer_id" and _is_numeric(features[c])]
    if categorical is None:
        categorical = [c for c in DEFAULT_CATEGORICAL if c in features.columns]
    numeric, categorical = list(numeric), list(categorical)
    require_columns(features, numeric + categorical, table="customer features")
    if not numeric and not categorical:
        raise ValueProblem("no feature to cluster on: pass numeric= or categorical= columns")
    return numeric, categorical


def prepare_matrix(features: pd.DataFrame, numeric: Sequence[str] | None = None,
                   categorical: Sequence[str] | None = None,
                   categorical_weight: float = 0.5) -> tuple[pd.DataFrame, _Preparation]:
    """The clustering matrix: log-transformed, robust-scaled numeric traits and weighted one-hots.

    See the module documentation for each step. Returns the matrix (a float DataFrame
    indexed like ``features``) and the fitted preparation, whose ``transform(features)``
    applies the same steps to another table.

    Examples
    --------
    >>> f = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "monetary": [10.0, 20.0, 30.0, 5000.0],
    ...                   "customer_type": ["B2C", "B2C", "B2B", None]})
    >>> matrix, prep = prepare_matrix(f)
    >>> list(matrix.columns)
    ['monetary', 'customer_type=(missing)', 'customer_type=B2B', 'customer_type=B2C']
    >>> prep.transforms
    {'monetary': 'log1p'}
    >>> matrix["customer_type=B2B"].tolist()
    [0.0, 0.0, 0.5, 0.0]
    """
    from sklearn.preprocessing import RobustScaler

    numeric, categorical = _choose_columns(features, numeric, categorical)
    fill, transforms = {}, {}
    for col in numeric:
        x = pd.to_numeric(features[col], errors="coerce").astype("float64")
        median = x.median()
        fill[col] = 0.0 if pd.isna(median) else float(median)
        x = x.fillna(fill[col])
        skew = x.skew() if len(x) > 2 else 0.0
        if pd.notna(skew) and abs(skew) > SKEW_THRESHOLD:
            transforms[col] = "log1p" if x.min() >= 0 else "signed_log1p"
    block = _numeric_block(features, numeric, fill, transforms)
    if numeric:
        scaler = RobustScaler(quantile_range=_QUANTILE_RANGE, unit_variance=True).fit(block)
        low, high = np.percentile(block, _QUANTILE_RANGE, axis=0)
        std = block.std(axis=0)
        flat = (high - low) <= 1e-12
        scaler.scale_ = np.where(flat, np.where(std > 0, std, 1.0), scaler.scale_)
    else:
        scaler = RobustScaler().fit(np.zeros((1, 0)))
    categories = {col: sorted(features[col].astype("string").fillna("(missing)").unique().tolist())
                  for col in categorical}
    prep = _Preparation(numeric, categorical, float(categorical_weight), fill, transforms, scaler, categories)
    return prep.transform(features), prep


# --------------------------------------------------------------------------------------------------
# Clustering
# --------------------------------------------------------------------------------------------------

@dataclass
class SegmentationResult:
    """Outcome of :func:`fit_segments`.

    Attributes
    ----------
    labels : Series
        Cluster of each customer (0 .. k-1, largest cluster first), indexed like the features.
    k : int
        Number of clusters fitted.
    model : estimator
        The fitted ``KMeans``, ``MiniBatchKMeans`` or ``GaussianMixture`` (its own cluster
        numbers; ``labels`` are renumbered by size).
    matrix : DataFrame
        The transformed matrix the model was fitted on.
    k_scores : DataFrame or None
        One row per k of ``k_range``: ``k, inertia, silhouette, calinski_harabasz,
        davies_bouldin`` (None when k was given on a large table, see ``score_k``).
    suggested_k : int or None
        The k suggested by the scores.
    k_choice : dict
        How k was chosen, as codes and numbers (the report words it:
        :func:`portfolio_helpers.reporting.segmentation.k_reason`). ``status``: ``"scored"``,
        ``"unscored"`` (no k could be scored) or ``"given"`` (k given, no k scored); ``elbow``;
        when scored: ``k``, ``silhouette``, ``calinski_harabasz``, ``low``/``high`` (the range
        searched), ``outside_range`` (too few customers for :data:`ACTIONABLE_K`: ``actionable``
        holds it), ``rule`` (``"size_and_apart"``, ``"size_only"`` or ``"merged"``),
        ``min_share``, ``min_features_apart``, ``tied_with`` (k within ``tie_margin`` of the
        best silhouette), and ``imposed`` (the k given when it differs from the suggestion).
    silhouette : float
        Silhouette of the fitted clusters (on a seeded sample of at most 10,000 rows).
    dropped : DataFrame
        The constant and near-constant features left out (:func:`flat_features`).
    merged : list of dict
        Segments under the minimum share merged into their neighbours
        (:func:`merge_small_segments`); ``k`` counts the segments left, ``k_fitted`` the
        clusters fitted.
    two_way : dict or None
        When k = 2 has a silhouette at least :data:`TWO_WAY_MARGIN` above the chosen k:
        ``silhouette_2``, ``silhouette_k``, ``k``, ``smallest_share_2``.
    fit_rows : ndarray or None
        Positions (in ``features``) of the seeded sample the models were fitted and the k
        scored on, when the table had more rows than the ``fit_sample`` of
        :func:`fit_segments`; None when every customer was used.
    """

    labels: pd.Series
    k: int
    model: Any
    matrix: pd.DataFrame
    k_scores: pd.DataFrame | None
    suggested_k: int | None
    k_choice: dict
    silhouette: float
    algorithm: str = "kmeans"
    seed: int = 42
    numeric: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)
    preparation: Any = None
    elbow_k: int | None = None
    dropped: pd.DataFrame = field(default_factory=lambda: flat_features(pd.DataFrame()))
    merged: list[dict] = field(default_factory=list)
    two_way: dict | None = None
    k_fitted: int | None = None
    fit_rows: np.ndarray | None = None

    @property
    def n_fit(self) -> int:
        """Customers the models were fitted on (all of them, or the seeded sample)."""
        return len(self.labels) if self.fit_rows is None else len(self.fit_rows)

    def transform(self, features: pd.DataFrame) -> pd.DataFrame:
        """Apply the fitted preparation (fill values, logs, scaling, one-hots) to another table."""
        return self.preparation.transform(features)


#: The clustering algorithms (``algorithm=``).
ALGORITHMS = ("kmeans", "gmm")


def _make_model(k: int, algorithm: str, seed: int, n_rows: int):
    from sklearn.cluster import KMeans, MiniBatchKMeans
    from sklearn.mixture import GaussianMixture

    if algorithm == "kmeans":
        if n_rows > MINIBATCH_ROWS:
            return MiniBatchKMeans(n_clusters=k, init="k-means++", n_init=3, batch_size=4096,
                                   random_state=seed)
        return KMeans(n_clusters=k, init="k-means++", n_init=10, random_state=seed)
    # "gmm" (the public functions checked the algorithm: ALGORITHMS)
    return GaussianMixture(n_components=k, covariance_type="full", n_init=3, reg_covar=1e-4, random_state=seed)


def _fit_predict(X: np.ndarray, k: int, algorithm: str, seed: int):
    model = _make_model(k, algorithm, seed, len(X))
    labels = model.fit_predict(X)
    return model, np.asarray(labels)


def _sample_index(n: int, seed: int, size: int = SILHOUETTE_SAMPLE) -> np.ndarray:
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def _silhouette(X: np.ndarray, labels: np.ndarray, seed: int) -> float:
    return _silhouettes(X, [labels], seed)[0]


#: Bytes of the block of pairwise distances :func:`_silhouettes` holds at a time.
_DISTANCE_BLOCK_BYTES = 64 * 2**20


def _silhouettes(X: np.ndarray, label_sets: Sequence[np.ndarray], seed: int) -> list[float]:
    """Mean silhouette of several labelings of the same rows, on one seeded sample.

    The same value as ``sklearn.metrics.silhouette_score(X[idx], labels[idx])`` for each
    labeling (``idx``: the seeded sample of at most :data:`SILHOUETTE_SAMPLE` rows), up to
    the last bits of floating-point sums, but the pairwise distances of the sample are
    computed once for all the labelings instead of once per labeling: for each block of
    rows, the distances to every sampled row times the one-hot matrix of every labeling
    give the sum of the distances to each cluster. A labeling with fewer than 2 clusters
    in the sample, or as many clusters as sampled rows, gets ``NaN``.
    """
    idx = _sample_index(len(X), seed)
    sample = X[idx]
    m = len(idx)
    out = [float("nan")] * len(label_sets)
    codes, valid = [], []
    for position, labels in enumerate(label_sets):
        values, code = np.unique(np.asarray(labels)[idx], return_inverse=True)
        if m >= 3 and 2 <= len(values) <= m - 1:
            codes.append(code.ravel())
            valid.append(position)
    if not valid:
        return out
    widths = [int(code.max()) + 1 for code in codes]
    starts = np.concatenate([[0], np.cumsum(widths)])
    onehot = np.zeros((m, starts[-1]))
    for start, code in zip(starts, codes, strict=False):
        onehot[np.arange(m), start + code] = 1.0
    sums = np.empty((m, starts[-1]))
    squares = np.einsum("ij,ij->i", sample, sample)
    block = max(1, _DISTANCE_BLOCK_BYTES // (8 * m))
    for first in range(0, m, block):
        rows = slice(first, min(first + block, m))
        # Euclidean distances as scikit-learn computes them: |x|^2 + |y|^2 - 2 x.y, clipped at 0.
        distances = squares[rows, None] + squares[None, :] - 2.0 * (sample[rows] @ sample.T)
        np.maximum(distances, 0.0, out=distances)
        distances[np.arange(distances.shape[0]), np.arange(rows.start, rows.stop)] = 0.0
        np.sqrt(distances, out=distances)
        sums[rows] = distances @ onehot
    everyone = np.arange(m)
    for position, code, start, width in zip(valid, codes, starts, widths, strict=False):
        counts = np.bincount(code, minlength=width).astype("float64")
        to_cluster = sums[:, start:start + width]
        with np.errstate(divide="ignore", invalid="ignore"):
            own = to_cluster[everyone, code] / (counts[code] - 1)  # a: mean distance within the own cluster
            mean_to = to_cluster / counts
            mean_to[everyone, code] = np.inf
            nearest = mean_to.min(axis=1)  # b: mean distance to the nearest other cluster
            values = np.nan_to_num((nearest - own) / np.maximum(own, nearest))  # 0 for a cluster of 1
        out[position] = float(values.mean())
    return out


def _inertia(X: np.ndarray, labels: np.ndarray) -> float:
    total = 0.0
    for cluster in np.unique(labels):
        part = X[labels == cluster]
        total += float(((part - part.mean(axis=0)) ** 2).sum())
    return total


def _scores(X: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Inertia, Calinski-Harabasz and Davies-Bouldin (the silhouettes come from :func:`_silhouettes`)."""
    from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score

    several = len(np.unique(labels)) >= 2
    return {
        "inertia": _inertia(X, labels),
        "calinski_harabasz": float(calinski_harabasz_score(X, labels)) if several else float("nan"),
        "davies_bouldin": float(davies_bouldin_score(X, labels)) if several else float("nan"),
    }


def _relabel_by_size(labels: np.ndarray) -> np.ndarray:
    """Renumber clusters 0..k-1 by decreasing size (ties: original number)."""
    values, counts = np.unique(labels, return_counts=True)
    order = values[np.lexsort((values, -counts))]
    mapping = np.empty(values.max() + 1, dtype=np.int64)
    mapping[order] = np.arange(len(order))
    return mapping[labels]


def knee_point(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Elbow of a decreasing convex curve (kneedle): the x farthest below the normalised chord.

    Both axes are scaled to [0, 1]; the knee maximises ``(1 - x_n) - y_n``, the vertical
    distance under the straight line from the first to the last point. None when the
    curve never dips below that line (no elbow) or has fewer than three points.

    Examples
    --------
    >>> knee_point([1, 2, 3, 4, 5, 6], [100, 40, 20, 15, 12, 10])
    3
    >>> knee_point([1, 2, 3], [3, 2, 1]) is None
    True
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    xn = (x - x.min()) / np.ptp(x)
    yn = (y - y.min()) / np.ptp(y)
    gap = (1 - xn) - yn
    best = int(np.argmax(gap))
    if gap[best] <= 1e-9:
        return None
    value = x[best]
    return int(value) if float(value).is_integer() else float(value)


def _pick(pool: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    best = pool["silhouette"].max()
    tied = pool[pool["silhouette"] >= best - SILHOUETTE_TIE]
    return tied.sort_values(["calinski_harabasz", "k"], ascending=[False, True]).iloc[0], tied


def _suggest_k(scores: pd.DataFrame, actionable: tuple[int, int] = ACTIONABLE_K,
               min_share: float = MIN_SEGMENT_SHARE) -> tuple[int | None, dict, int | None, dict | None]:
    """The suggested k, how it was chosen (:class:`SegmentationResult` ``k_choice``), the elbow, the two-way split."""
    elbow = knee_point(scores["k"], scores["inertia"]) if scores["inertia"].notna().all() else None
    valid = scores[scores["silhouette"].notna()]
    if valid.empty:
        return None, {"status": "unscored", "elbow": elbow}, elbow, None
    low, high = actionable
    in_range = valid[valid["k"].between(low, high)]
    choice = {"status": "scored", "elbow": elbow, "low": int(low), "high": int(high), "outside_range": False,
              "min_share": float(min_share), "min_features_apart": MIN_FEATURES_APART}
    if in_range.empty:
        in_range = valid
        choice.update(outside_range=True, low=int(valid["k"].min()), high=int(valid["k"].max()),
                      actionable=(int(low), int(high)))
    sized = in_range[in_range["smallest_share"] >= min_share]
    usable = sized[sized["min_features_apart"] >= MIN_FEATURES_APART]
    if not usable.empty:
        pool, choice["rule"] = usable, "size_and_apart"
    elif not sized.empty:
        pool, choice["rule"] = sized, "size_only"
    else:
        pool, choice["rule"] = in_range, "merged"
    chosen, tied = _pick(pool)
    k = int(chosen["k"])
    choice.update(k=k, silhouette=float(chosen["silhouette"]), calinski_harabasz=float(chosen["calinski_harabasz"]),
                  tied_with=[int(v) for v in tied["k"] if int(v) != k], tie_margin=SILHOUETTE_TIE)
    two_way = None
    pair = valid[valid["k"] == 2]
    if k != 2 and not pair.empty and pair["silhouette"].iloc[0] - chosen["silhouette"] >= TWO_WAY_MARGIN:
        labels_two = pair.iloc[0]
        two_way = {"silhouette_2": float(labels_two["silhouette"]), "silhouette_k": float(chosen["silhouette"]),
                   "k": k, "smallest_share_2": float(labels_two["smallest_share"])}
    return k, choice, elbow, two_way


def flat_features(features: pd.DataFrame, columns: Sequence[str] | None = None,
                  share: float = FLAT_SHARE) -> pd.DataFrame:
    """Constant and near-constant features: the most frequent value covers ``share`` of the rows or more.

    Numeric values are compared rounded to 9 decimals (so ``0.39999999999999997`` and
    ``0.4`` are the same value) with missing values counted as the median they are
    replaced by before clustering; categorical values as text, a missing value being a
    value of its own.

    Parameters
    ----------
    features : DataFrame
        One row per customer.
    columns : list of str, optional
        Columns checked; default every column except ``customer_id``.
    share : float, default :data:`FLAT_SHARE`
        Share of the rows from which the most frequent value makes a column near-constant.

    Returns
    -------
    DataFrame
        One row per flat column, in the order of ``columns``: ``feature``, ``value`` (the
        most frequent value, as text; numbers to 9 significant digits), ``share`` (of the rows holding it) and ``reason``
        (``"constant"`` or ``"near-constant"``).

    Examples
    --------
    >>> f = pd.DataFrame({"margin": [0.4] * 40, "returns": [0.0] * 39 + [1.0], "spend": range(40)})
    >>> flat_features(f)
       feature value  share         reason
    0   margin   0.4  1.000       constant
    1  returns     0  0.975  near-constant
    """
    columns = [c for c in features.columns if c != "customer_id"] if columns is None else list(columns)
    rows = []
    for col in columns:
        values = features[col]
        if _is_numeric(values):
            x = pd.to_numeric(values, errors="coerce").astype("float64")
            median = x.median()
            values = x.fillna(0.0 if pd.isna(median) else median).round(9)
        else:
            values = values.astype("string").fillna("(missing)")
        counts = values.value_counts(sort=True)
        top = float(counts.iloc[0] / len(values)) if len(values) else 1.0
        if len(counts) <= 1 or top >= share:
            top_value = counts.index[0] if len(counts) else ""
            if isinstance(top_value, float):
                top_value = f"{top_value:.9g}"
            rows.append({"feature": col, "value": str(top_value),
                         "share": round(top, 6), "reason": "constant" if len(counts) <= 1 else "near-constant"})
    return pd.DataFrame(rows, columns=["feature", "value", "share", "reason"])


def _feature_groups(columns: Sequence[str], categorical: Sequence[str]) -> np.ndarray:
    """Source feature of each matrix column (one-hot ``col=value`` columns belong to ``col``)."""
    out = []
    for column in columns:
        owner = next((c for c in categorical if column.startswith(f"{c}=")), column)
        out.append(owner)
    return np.asarray(out, dtype=object)


def _features_apart(X: np.ndarray, labels: np.ndarray, groups: np.ndarray) -> dict[tuple, list[str]]:
    std = X.std(axis=0)
    std = np.where(std > 1e-12, std, np.nan)
    clusters = np.unique(labels)
    means = {c: X[labels == c].mean(axis=0) for c in clusters}
    out = {}
    for i, a in enumerate(clusters):
        for b in clusters[i + 1:]:
            with np.errstate(invalid="ignore"):
                smd = np.abs(means[a] - means[b]) / std
            apart = smd >= DIFFERENCE_SMD
            out[(a, b)] = list(dict.fromkeys(groups[apart]))
    return out


def segment_separation(matrix: pd.DataFrame, labels: pd.Series, categorical: Sequence[str] = ()) -> pd.DataFrame:
    """How much every two segments differ: features with a standardized mean difference of at least 0.5.

    The standardized mean difference of a feature between segments A and B is
    ``|mean_A - mean_B| / sd``, ``sd`` being the standard deviation of the feature over
    all customers, on the clustering scale (after the log transform; one-hot columns of
    a categorical attribute count for their attribute).

    Parameters
    ----------
    matrix : DataFrame
        The clustering matrix (``SegmentationResult.matrix``).
    labels : Series
        Segment of each row of ``matrix``.
    categorical : list of str
        Categorical attributes whose one-hot columns ``col=value`` are in ``matrix``.

    Returns
    -------
    DataFrame
        One row per pair of segments: ``segment_a``, ``segment_b``, ``features_apart``
        (count) and ``features`` (their names, comma-separated).

    Examples
    --------
    >>> m = pd.DataFrame({"x": [0.0, 0.1, 5.0, 5.1], "y": [1.0, 1.0, 1.0, 1.1]})
    >>> segment_separation(m, pd.Series([0, 0, 1, 1]))
       segment_a  segment_b  features_apart features
    0          0          1               2     x, y
    """
    X = np.asarray(matrix, dtype="float64")
    groups = _feature_groups(list(matrix.columns), categorical)
    pairs = _features_apart(X, np.asarray(labels), groups)
    return pd.DataFrame([{"segment_a": a, "segment_b": b, "features_apart": len(names),
                          "features": ", ".join(names)} for (a, b), names in pairs.items()],
                        columns=["segment_a", "segment_b", "features_apart", "features"])


def merge_small_segments(matrix, labels, min_share: float = MIN_SEGMENT_SHARE) -> tuple[np.ndarray, list[dict]]:
    """Merge every segment under ``min_share`` of the rows into the nearest remaining segment centres.

    The smallest segment goes first: each of its rows joins the segment whose centre (mean
    of its rows in ``matrix``) is nearest; the centres are recomputed and the next small
    segment follows, until every segment holds at least ``min_share`` (or one is left).
    Segments are then renumbered 0..k-1 by decreasing size.

    Returns
    -------
    labels : ndarray
        The new segment of every row.
    merged : list of dict
        One entry per merged segment: ``customers``, ``share``, ``into`` (the segments of the
        returned labels that received them).

    Examples
    --------
    >>> X = np.r_[np.zeros((50, 1)), np.full((49, 1), 10.0), [[11.0]]]
    >>> labels = np.r_[np.zeros(50, int), np.ones(49, int), [2]]
    >>> new, merged = merge_small_segments(X, labels, 0.02)
    >>> int(new[-1]), merged
    (1, [{'customers': 1, 'share': 0.01, 'into': [1]}])
    """
    X = np.asarray(matrix, dtype="float64")
    current = np.asarray(labels).copy()
    merged, receivers = [], []
    n = len(current)
    while True:
        values, counts = np.unique(current, return_counts=True)
        small = counts < min_share * n
        if len(values) <= 1 or not small.any():
            break
        victim = values[small][np.argmin(counts[small])]
        keep = values[values != victim]
        centres = np.array([X[current == c].mean(axis=0) for c in keep])
        members = np.flatnonzero(current == victim)
        distance = ((X[members, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        current[members] = keep[distance.argmin(axis=1)]
        merged.append({"customers": int(len(members)), "share": round(len(members) / n, 6)})
        receivers.append(members)
    final = _relabel_by_size(current)
    for entry, members in zip(merged, receivers, strict=True):
        entry["into"] = sorted(int(v) for v in np.unique(final[members]))
    return final, merged


def fit_segments(features: pd.DataFrame, numeric: Sequence[str] | None = None,
                 categorical: Sequence[str] | None = None, k: int | None = None,
                 algorithm: str = "kmeans", seed: int = 42, k_range: Sequence[int] = range(2, 9),
                 categorical_weight: float = 0.5, score_k: bool | None = None, drop_flat: bool = True,
                 min_share: float = MIN_SEGMENT_SHARE,
                 actionable: tuple[int, int] = ACTIONABLE_K,
                 fit_sample: int | None = FIT_SAMPLE) -> SegmentationResult:
    """Cluster customers on their features; suggest a number of clusters.

    Parameters
    ----------
    features : DataFrame
        One row per customer: ``customer_id`` plus numeric and categorical columns.
    numeric, categorical : list of str, optional
        Columns to use; defaults in :data:`DEFAULT_NUMERIC` and :data:`DEFAULT_CATEGORICAL`
        (those present). See the module documentation for the transformations.
    k : int, optional
        Number of clusters. By default the suggested k (see "Choosing k" in the module
        documentation: the best silhouette among the usable k of ``actionable``).
    algorithm : {"kmeans", "gmm"}
        k-means (MiniBatchKMeans above 200,000 rows) or a Gaussian mixture (full covariance).
    seed : int
        Random state of the models and of the silhouette sample.
    k_range : sequence of int
        Values of k scored (2 is scored to report a dominant two-way split).
    categorical_weight : float, default 0.5
        Weight of the one-hot columns (0 ignores the categorical attributes).
    score_k : bool, optional
        Score every k of ``k_range``. Default: when ``k`` is None, or on tables up to
        50,000 rows (cheap), so the suggestion is available beside a fixed k.
    drop_flat : bool, default True
        Leave out the constant and near-constant features (:func:`flat_features`).
    min_share : float, default :data:`MIN_SEGMENT_SHARE`
        Smallest share of customers of a segment; smaller segments are merged (0: never).
    actionable : (int, int), default :data:`ACTIONABLE_K`
        Range of k among which the suggestion is taken.
    fit_sample : int or None, default :data:`FIT_SAMPLE`
        With more rows than this, k is scored and the model fitted on a sample of this
        many rows drawn with ``seed``, and every row is then assigned to its nearest
        segment (see "Large portfolios" in the module documentation); None: always every row.

    Returns
    -------
    SegmentationResult

    Raises
    ------
    ValueError
        With fewer than 3 customers, when every feature is flat, or when no k of
        ``k_range`` can be fitted.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> f = pd.DataFrame({"customer_id": range(300),
    ...                   "frequency": np.r_[rng.normal(2, .3, 100), rng.normal(20, 2, 100),
    ...                                      rng.normal(8, 1, 100)],
    ...                   "monetary": np.r_[rng.normal(100, 10, 100), rng.normal(5000, 300, 100),
    ...                                     rng.normal(800, 50, 100)]})
    >>> result = fit_segments(f, k_range=range(2, 6))
    >>> result.k, result.suggested_k, result.labels.value_counts().tolist()
    (3, 3, [100, 100, 100])
    >>> result.k_scores.columns.tolist()
    ['k', 'inertia', 'silhouette', 'calinski_harabasz', 'davies_bouldin', 'smallest_share', 'min_features_apart']
    >>> result.k_choice["k"], round(result.k_choice["silhouette"], 2), result.k_choice["rule"]
    (3, 0.87, 'size_only')

    Fitted on a seeded sample of 150 of the 300 customers, every customer then assigned:

    >>> sampled = fit_segments(f, k_range=range(2, 6), fit_sample=150)
    >>> sampled.n_fit, sampled.labels.value_counts().tolist()
    (150, [100, 100, 100])
    """
    require_frame(features, "customer features")
    require_choice(algorithm, "algorithm", ALGORITHMS)
    if k is not None:
        require_count(k, "k", minimum=1)
    if len(features) < 3:
        raise ValueProblem(f"need at least 3 customers to cluster, got {len(features)}")
    numeric, categorical = _choose_columns(features, numeric, categorical)
    dropped = flat_features(features, numeric + categorical) if drop_flat else flat_features(features, [])
    numeric = [c for c in numeric if c not in set(dropped["feature"])]
    categorical = [c for c in categorical if c not in set(dropped["feature"])]
    if not numeric and not categorical:
        raise ValueProblem(f"every feature is constant or near-constant (one value for at least "
                         f"{FLAT_SHARE:.0%} of the customers): {', '.join(dropped['feature'])}")
    matrix, prep = prepare_matrix(features, numeric, categorical, categorical_weight)
    X_all = matrix.to_numpy(dtype="float64")
    fit_rows = None
    if fit_sample is not None and len(X_all) > fit_sample:
        fit_rows = _sample_index(len(X_all), seed, int(fit_sample))
    X = X_all if fit_rows is None else X_all[fit_rows]  # the rows k is scored and the models fitted on
    n = len(X)
    groups = _feature_groups(list(matrix.columns), prep.categorical)
    if score_k is None:
        score_k = k is None or len(X_all) <= 50_000
    n_distinct = len(np.unique(X, axis=0)) if score_k else n
    if k is None and not score_k:
        raise ValueProblem("k is required when score_k=False")

    k_scores, suggested, choice, elbow, two_way = None, None, {"status": "given", "elbow": None}, None, None
    fits: dict[int, tuple[Any, np.ndarray]] = {}  # k -> (model, labels): the chosen k is not fitted twice
    silhouettes: dict[int, float] = {}
    with single_threaded(n):
        if score_k:
            rows = []
            for candidate in k_range:
                candidate = int(candidate)
                if not 2 <= candidate < n or candidate > n_distinct or candidate in fits:
                    continue
                fits[candidate] = _fit_predict(X, candidate, algorithm, seed)
                labels = fits[candidate][1]
                apart = _features_apart(X, labels, groups)
                rows.append({"k": candidate, **_scores(X, labels),
                             "smallest_share": float(np.bincount(labels).min() / n),
                             "min_features_apart": min((len(v) for v in apart.values()), default=0)})
            if not rows:
                raise ValueProblem(f"no k of k_range is between 2 and the number of distinct customers "
                                 f"({min(n - 1, n_distinct)})")
            silhouettes = dict(zip(fits, _silhouettes(X, [labels for _, labels in fits.values()], seed),
                                   strict=True))
            k_scores = pd.DataFrame(rows)
            k_scores.insert(2, "silhouette", k_scores["k"].map(silhouettes))
            suggested, choice, elbow, two_way = _suggest_k(k_scores, actionable, min_share)
            if k is not None and suggested is not None and k != suggested:
                choice["imposed"] = int(k)
        if k is None:
            k = suggested if suggested is not None else 2
        k = int(k)
        if not 1 <= k <= n:
            raise ValueProblem(f"k must be between 1 and the number of customers ({n}), got {k}")
        model, raw = fits[k] if k in fits else _fit_predict(X, k, algorithm, seed)
    if fit_rows is not None:  # every customer joins its nearest segment (all threads: a cheap, large step)
        raw = np.asarray(model.predict(X_all))
    with single_threaded(len(X_all)):
        final, merged = merge_small_segments(X_all, _relabel_by_size(raw), min_share) if min_share > 0 \
            else (_relabel_by_size(raw), [])
        # without a merge the segments are the scored clusters renumbered (on the sample, each of its customers is
        # in the segment of its nearest centre, i.e. its fitted cluster): the same silhouette
        silhouette = silhouettes[k] if k in silhouettes and not merged \
            else _silhouette(X, final if fit_rows is None else final[fit_rows], seed)
    labels = pd.Series(final, index=features.index, name="segment")
    return SegmentationResult(
        labels=labels, k=int(labels.nunique()), model=model, matrix=matrix, k_scores=k_scores,
        suggested_k=suggested, k_choice=choice, silhouette=silhouette,
        algorithm=algorithm, seed=seed, numeric=prep.numeric, categorical=prep.categorical,
        preparation=prep, elbow_k=elbow, dropped=dropped, merged=merged, two_way=two_way, k_fitted=k,
        fit_rows=fit_rows,
    )


def _as_matrix(data, **prepare) -> np.ndarray:
    if isinstance(data, SegmentationResult):
        return data.matrix.to_numpy(dtype="float64")
    if isinstance(data, pd.DataFrame):
        is_features = "customer_id" in data.columns or not all(
            pd.api.types.is_numeric_dtype(data[c]) for c in data.columns)
        if is_features:
            return prepare_matrix(data, **prepare)[0].to_numpy(dtype="float64")
        return data.to_numpy(dtype="float64")
    return np.asarray(data, dtype="float64")


def stability(data, k: int, n_boot: int = 20, seed: int = 42, algorithm: str = "kmeans",
              reference: Sequence[int] | None = None, **prepare) -> dict[str, Any]:
    """Bootstrap stability of a clustering: do the clusters come back on resampled data?

    The model is fitted on all rows (reference labels), then ``n_boot`` times on a
    bootstrap sample (rows drawn with replacement); each bootstrap model assigns every
    row and the adjusted Rand index (ARI) with the reference labels is recorded.
    ARI is 1 for identical partitions and about 0 for unrelated ones.

    Parameters
    ----------
    data : DataFrame, ndarray or SegmentationResult
        A features table (it has ``customer_id`` or a non-numeric column: it is prepared
        as in :func:`fit_segments`, ``prepare`` keywords such as ``numeric=`` passed on),
        an already transformed matrix (all-numeric DataFrame or array) or a result.
    k : int
        Number of clusters.
    n_boot : int
        Number of bootstrap refits.
    seed : int
        Seed of the bootstrap draws and of the models.
    reference : array-like of int, optional
        The labels of the model fitted on all rows with this ``k``, ``algorithm`` and
        ``seed`` when the caller has them already (e.g. ``fit_segments(...).labels`` when
        nothing was merged): the reference fit is then skipped. Any numbering of the same
        partition gives the same result (the ARI ignores label names).

    Returns
    -------
    dict
        ``mean_ari``, ``min_ari``, ``aris`` (list), ``unstable`` (True when the mean ARI is
        below :data:`STABILITY_THRESHOLD`), ``threshold``, ``k`` and ``n_boot`` (the report words
        it: :func:`portfolio_helpers.reporting.segmentation.stability_warning`).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> X = np.r_[rng.normal(0, 1, (100, 2)), rng.normal(10, 1, (100, 2))]
    >>> out = stability(X, k=2, n_boot=5)
    >>> out["mean_ari"], out["unstable"]
    (1.0, False)
    """
    from sklearn.metrics import adjusted_rand_score

    require_choice(algorithm, "algorithm", ALGORITHMS)
    require_count(n_boot, "n_boot", minimum=1)
    X = _as_matrix(data, **prepare)
    n = len(X)
    if not 2 <= k < n:
        raise ValueProblem(f"k must be between 2 and {n - 1}, got {k}")
    if reference is not None and len(reference) != n:
        raise ValueProblem(f"reference has {len(reference)} labels for {n} rows")
    rng = np.random.default_rng(seed)
    aris = []
    with single_threaded(n):
        if reference is None:
            _, reference = _fit_predict(X, k, algorithm, seed)
        reference = np.asarray(reference)
        for b in range(n_boot):
            sample = rng.integers(0, n, size=n)
            model = _make_model(k, algorithm, seed + b + 1, n)
            model.fit(X[sample])
            aris.append(float(adjusted_rand_score(reference, model.predict(X))))
    mean_ari = round(float(np.mean(aris)), 6) if aris else float("nan")
    min_ari = round(float(np.min(aris)), 6) if aris else float("nan")
    return {"mean_ari": mean_ari, "min_ari": min_ari, "aris": aris,
            "unstable": bool(aris) and mean_ari < STABILITY_THRESHOLD, "threshold": STABILITY_THRESHOLD,
            "k": int(k), "n_boot": int(n_boot)}


# --------------------------------------------------------------------------------------------------
# Profiles and names
# --------------------------------------------------------------------------------------------------

_NAME_ALIASES = {"recency_days": "recency", "service_minutes_per_1000": "service minutes",
                 "avg_order_value": "order value", "orders_per_year": "orders/year", "tenure_days": "tenure",
                 "discount_share": "discount share", "return_rate": "returns", "days_late": "days late",
                 "monetary": "revenue"}


def _describe_difference(col: str, cluster_mean: float, overall_mean: float, smd: float) -> str:
    label = _NAME_ALIASES.get(col, col.replace("_", " "))
    if overall_mean > 0 and cluster_mean >= 0:
        ratio = cluster_mean / overall_mean
        if ratio >= 2:
            return f"{label} ×{ratio:.1f}"
        change = (ratio - 1) * 100
        sign = "+" if change >= 0 else "−"
        return f"{label} {sign}{abs(change):.0f}%"
    sign = "+" if smd >= 0 else "−"
    return f"{label} {sign}{abs(smd):.1f} sd"


def profiles(features: pd.DataFrame, labels: pd.Series, value_col: str = "monetary",
             profit_col: str | None = None, numeric: Sequence[str] | None = None,
             n_top: int = 3, top_from: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per cluster: size, value shares, medians, indexes and what sets it apart.

    Parameters
    ----------
    features : DataFrame
        The customer features.
    labels : Series
        Cluster of each customer, aligned on ``features.index`` (e.g. ``result.labels``).
    value_col : str
        Revenue column for ``revenue`` and ``revenue_share``.
    profit_col : str, optional
        Profit column for ``profit`` and ``profit_share``.
    numeric : list of str, optional
        Columns profiled; default every numeric column except ``customer_id``.
    n_top : int
        Number of distinguishing features in ``top_features``.
    top_from : list of str, optional
        Columns eligible for ``top_features`` (e.g. the clustering features); default all
        profiled columns. A column whose standard deviation is nil (up to float noise) is
        never a top feature.

    Returns
    -------
    DataFrame
        Indexed by ``cluster`` (sorted): ``size``, ``share_customers``, ``revenue``,
        ``revenue_share`` (cluster revenue / total revenue), ``profit`` and
        ``profit_share`` (with ``profit_col``), ``customer_type`` and
        ``customer_type_share`` (majority type, when the column exists), ``top_features``
        (the ``n_top`` features with the largest absolute standardised mean difference,
        ``(cluster mean - overall mean) / overall standard deviation``, written as
        ``"frequency ×3.2, recency −60%"``: a ratio to the average from ×2, else a
        percentage change; in standard deviations when the overall mean is not positive),
        then ``median_<col>`` (original units) and ``index_<col>`` (cluster mean / overall
        mean × 100: 100 = the average customer; NaN when the overall mean is not positive)
        for each profiled column.

    Examples
    --------
    >>> f = pd.DataFrame({"customer_id": list("abcd"), "monetary": [100.0, 300.0, 50.0, 50.0],
    ...                   "frequency": [4, 8, 1, 1]})
    >>> p = profiles(f, pd.Series([0, 0, 1, 1]))
    >>> p[["size", "revenue_share", "index_monetary"]].to_dict("index")
    {0: {'size': 2, 'revenue_share': 0.8, 'index_monetary': 160.0}, 1: {'size': 2, 'revenue_share': 0.2, 'index_monetary': 40.0}}
    >>> p["top_features"].tolist()
    ['frequency +71%, revenue +60%', 'frequency −71%, revenue −60%']
    """
    labels = pd.Series(labels).reindex(features.index)
    if labels.isna().any():
        raise ValueProblem(f"{int(labels.isna().sum())} customers have no cluster label")
    if numeric is None:
        numeric = [c for c in features.columns if c != "customer_id" and _is_numeric(features[c])]
    numeric = list(numeric)
    values = features[numeric].apply(pd.to_numeric, errors="coerce").astype("float64")
    groups = values.groupby(labels.to_numpy(), sort=True)
    out = pd.DataFrame(index=pd.Index(sorted(labels.unique()), name="cluster"))
    out["size"] = labels.value_counts().reindex(out.index).astype("int64")
    out["share_customers"] = out["size"] / len(labels)
    for col, name in ((value_col, "revenue"), (profit_col, "profit")):
        if col is None:
            continue
        amount = pd.to_numeric(features[col], errors="coerce").astype("float64").fillna(0.0)
        per = amount.groupby(labels.to_numpy()).sum().reindex(out.index)
        total = amount.sum()
        out[name] = per
        out[f"{name}_share"] = per / total if total != 0 else np.nan
    if "customer_type" in features.columns:
        kind = features["customer_type"].astype("string").fillna("(missing)")
        counts = pd.crosstab(labels.to_numpy(), kind.to_numpy()).reindex(out.index)
        out["customer_type"] = counts.idxmax(axis=1).astype("string")
        out["customer_type_share"] = counts.max(axis=1) / counts.sum(axis=1)

    means = groups.mean()
    overall = values.mean()
    std = values.std(ddof=0)
    std = std.where(std > 1e-9 * overall.abs().clip(lower=1.0))
    smd = (means - overall) / std
    if top_from is not None:
        smd = smd[[c for c in numeric if c in set(top_from)]]
    tops = []
    for cluster in out.index:
        row = smd.loc[cluster].dropna()
        order = row.abs().sort_values(ascending=False, kind="stable").index[:n_top]
        tops.append(", ".join(_describe_difference(c, means.loc[cluster, c], overall[c], row[c]) for c in order))
    out["top_features"] = pd.array(tops, dtype="string")
    medians = groups.median().reindex(out.index)
    index = (means / overall.where(overall > 0) * 100).reindex(out.index)
    for col in numeric:
        out[f"median_{col}"] = medians[col]
    for col in numeric:
        out[f"index_{col}"] = index[col]
    return out


def _index(row: pd.Series, col: str) -> float:
    value = row.get(f"index_{col}", np.nan)
    return float(value) if pd.notna(value) else 100.0


def _auto_name(row: pd.Series) -> str:
    monetary, frequency = _index(row, "monetary"), _index(row, "frequency")
    recency, tenure = _index(row, "recency_days"), _index(row, "tenure_days")
    service, discount = _index(row, "service_minutes_per_1000"), _index(row, "discount_share")
    kind = None
    if "customer_type" in row.index and pd.notna(row["customer_type"]) \
            and row.get("customer_type_share", 0) >= 0.8 and row["customer_type"] != "(missing)":
        kind = str(row["customer_type"])
    if service >= 300:
        return f"Service-heavy {kind} accounts" if kind else "Service-heavy accounts"
    words = []
    if recency >= 200:
        words.append("lapsed")
    elif tenure <= 50:
        words.append("new")
    if monetary >= 250:
        words.append("high-value")
    elif monetary <= 40:
        words.append("small")
    if recency < 200:
        if frequency >= 150 and recency <= 80:
            words.append("loyal")
        elif frequency <= 50:
            words.append("occasional")
    if discount >= 150:
        words.append("discount-driven")
    noun = kind or ("buyers" if "small" in words or "occasional" in words else "customers")
    if not words:
        words.append("core" if kind is None else "average")
    name = " ".join(words + [noun])
    return name[0].upper() + name[1:]


def name_clusters(profiles: pd.DataFrame, overrides: Mapping | None = None) -> dict:
    """Descriptive names for the clusters from their profile; ``overrides`` win.

    Rules on the indexes of :func:`profiles` (100 = average customer): service minutes
    ≥ 300 -> "Service-heavy accounts"; otherwise words in this order: "lapsed" (recency
    ≥ 200) or "new" (tenure ≤ 50), "high-value" (monetary ≥ 250) or "small" (≤ 40),
    "loyal" (frequency ≥ 150 and recency ≤ 80) or "occasional" (frequency ≤ 50),
    "discount-driven" (discount share ≥ 150), then the majority customer type when it
    covers at least 80% of the cluster (else "buyers"/"customers"); "Average ..." when no
    rule fires. Missing indexes count as 100. Names are unique: a repeated name gets
    " 2", " 3", ... Overrides (e.g. the config ``segments: {names: {0: "My name"}}``; keys
    may be numbers or their text) replace the automatic names.

    Examples
    --------
    >>> p = pd.DataFrame({"index_monetary": [400.0, 20.0, 25.0], "index_frequency": [300.0, 30.0, 30.0],
    ...                   "index_recency_days": [20.0, 300.0, 320.0]}, index=[0, 1, 2])
    >>> name_clusters(p)
    {0: 'High-value loyal customers', 1: 'Lapsed small buyers', 2: 'Lapsed small buyers 2'}
    >>> name_clusters(p, overrides={"1": "Win-back list"})[1]
    'Win-back list'
    """
    overrides = {str(key): str(value) for key, value in (overrides or {}).items()}
    names: dict = {}
    taken = set(overrides.values())
    for cluster in profiles.index:
        if str(cluster) in overrides:
            names[cluster] = overrides[str(cluster)]
    for cluster, row in profiles.iterrows():
        if cluster in names:
            continue
        base = _auto_name(row)
        name, n = base, 2
        while name in taken:
            name, n = f"{base} {n}", n + 1
        taken.add(name)
        names[cluster] = name
    return {cluster: names[cluster] for cluster in profiles.index}


def pca_projection(matrix, seed: int = 42) -> pd.DataFrame:
    """Two principal components of the clustering matrix, for a scatter plot of the segments.

    Returns a DataFrame ``pc1, pc2`` indexed like ``matrix`` (a DataFrame, an array or a
    :class:`SegmentationResult`); ``.attrs["explained_variance_ratio"]`` holds the share
    of variance of each component (also in ``.attrs["explained_variance"]``, total).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> m = pd.DataFrame(rng.normal(size=(50, 3)) * [5.0, 1.0, 0.1])
    >>> pcs = pca_projection(m)
    >>> pcs.columns.tolist(), round(pcs.attrs["explained_variance_ratio"][0], 2)
    (['pc1', 'pc2'], 0.98)
    """
    from sklearn.decomposition import PCA

    if isinstance(matrix, SegmentationResult):
        matrix = matrix.matrix
    index = matrix.index if isinstance(matrix, pd.DataFrame) else pd.RangeIndex(len(matrix))
    X = np.asarray(matrix, dtype="float64")
    n_comp = min(2, X.shape[1], X.shape[0])
    pca = PCA(n_components=n_comp, random_state=seed)
    coords = pca.fit_transform(X)
    if n_comp < 2:
        coords = np.column_stack([coords, np.zeros((len(X), 2 - n_comp))])
    out = pd.DataFrame(coords[:, :2], index=index, columns=["pc1", "pc2"])
    ratio = [float(v) for v in pca.explained_variance_ratio_] + [0.0] * (2 - n_comp)
    out.attrs["explained_variance_ratio"] = ratio
    out.attrs["explained_variance"] = float(sum(ratio))
    return out


# --------------------------------------------------------------------------------------------------
# Lifecycle
# --------------------------------------------------------------------------------------------------

def lifecycle_stages(customers: pd.DataFrame | None, features: pd.DataFrame, leads: pd.DataFrame | None = None,
                     as_of=None, active_days: int = 180, at_risk_days: int = 365,
                     new_days: int = 90) -> pd.DataFrame:
    """Lifecycle stage of every contact: lead, prospect, qualified prospect or customer status.

    Rules
    -----
    * A contact **with purchases** (a row in ``features``) is a customer:
      "customer — new" when the first purchase is at most ``new_days`` before ``as_of``
      (``tenure_days``), else "customer — active" when the last one is at most
      ``active_days`` before (``recency_days``), "customer — at risk" within
      ``at_risk_days``, else "customer — lapsed". Without ``recency_days`` /
      ``tenure_days``, they are computed from ``last_purchase`` / ``first_purchase``
      and ``as_of``.
    * A contact of ``customers`` **without purchases** takes its CRM ``stage``: ``lead``,
      ``prospect``, ``qualified`` (-> "qualified prospect"); a record at stage
      ``customer`` without any purchase (signed, not yet bought) is "customer — new";
      a missing or unknown stage counts as "lead".
    * A lead of ``leads`` not linked to a customer (no event carries a ``customer_id``)
      is a contact of its own, identified by ``lead_id``: "prospect" when it had a
      ``meeting`` or a ``call``, else "lead". A CRM that also keeps its open leads as
      customer records (stage ``lead``/``prospect``/``qualified``) cannot be matched to the
      lead table without an id: pass ``leads=None`` then to avoid counting them twice.

    Returns
    -------
    DataFrame
        ``contact_id, lifecycle_stage`` (an ordered categorical over
        :data:`LIFECYCLE_STAGES`): the customers table order, customers with purchases
        missing from it, then lead-only contacts.

    Examples
    --------
    >>> crm = pd.DataFrame({"customer_id": ["c1", "c2", "c3"], "stage": ["customer", "qualified", "lead"]})
    >>> feats = pd.DataFrame({"customer_id": ["c1"], "recency_days": [200], "tenure_days": [700]})
    >>> leads = pd.DataFrame({"lead_id": ["L1", "L1", "L2"], "event": ["form", "meeting", "visit"],
    ...                       "customer_id": [None, None, None]})
    >>> lifecycle_stages(crm, feats, leads)
      contact_id     lifecycle_stage
    0         c1  customer — at risk
    1         c2  qualified prospect
    2         c3                lead
    3         L1            prospect
    4         L2                lead
    """
    feats = features.drop_duplicates("customer_id").set_index(features["customer_id"].astype("string")
                                                               .drop_duplicates().to_numpy())
    if "recency_days" in feats.columns:
        recency = pd.to_numeric(feats["recency_days"], errors="coerce")
    else:
        recency = (pd.Timestamp(as_of).normalize() - pd.to_datetime(feats["last_purchase"]).dt.normalize()).dt.days
    if "tenure_days" in feats.columns:
        tenure = pd.to_numeric(feats["tenure_days"], errors="coerce")
    else:
        tenure = (pd.Timestamp(as_of).normalize() - pd.to_datetime(feats["first_purchase"]).dt.normalize()).dt.days
    bought = pd.Series(
        np.select([tenure <= new_days, recency <= active_days, recency <= at_risk_days],
                  ["customer — new", "customer — active", "customer — at risk"], "customer — lapsed"),
        index=feats.index, dtype=object)

    # Vectorised (one pass per table, no Python loop over the customers): the CRM's contacts in its order, each
    # once, with their purchase status when they bought, else their CRM stage; then the buyers it does not list.
    ids: list = []
    stages: list = []
    if customers is not None and len(customers):
        crm_stage = (customers["stage"].astype("string").str.strip().str.lower()
                     if "stage" in customers.columns else pd.Series(pd.NA, index=customers.index, dtype="string"))
        crm = pd.DataFrame({"id": customers["customer_id"].astype("string").to_numpy(),
                            "stage": crm_stage.to_numpy()})
        crm = crm[crm["id"].notna()].drop_duplicates("id")
        from_crm = crm["stage"].map(_CRM_STAGES).fillna("lead")
        status = bought.reindex(crm["id"].to_numpy())
        ids = crm["id"].tolist()
        stages = status.where(status.notna(), from_crm.to_numpy()).tolist()
    unlisted = ~bought.index.isin(ids) if ids else np.ones(len(bought), dtype=bool)
    ids += bought.index[unlisted].tolist()
    stages += bought[unlisted].tolist()
    seen = set(ids)
    if leads is not None and len(leads):
        linked = leads["customer_id"].notna() if "customer_id" in leads.columns \
            else pd.Series(False, index=leads.index)
        linked_leads = set(leads.loc[linked, "lead_id"])
        open_leads = leads[~leads["lead_id"].isin(linked_leads)]
        engaged = open_leads.loc[open_leads["event"].isin(_ENGAGED_EVENTS), "lead_id"] \
            if "event" in open_leads.columns else pd.Series([], dtype=object)
        engaged = set(engaged)
        for lead in pd.unique(open_leads["lead_id"]):
            if pd.isna(lead) or str(lead) in seen:
                continue
            seen.add(str(lead))
            ids.append(str(lead))
            stages.append("prospect" if lead in engaged else "lead")
    return pd.DataFrame({
        "contact_id": pd.array(ids, dtype="string"),
        "lifecycle_stage": pd.Categorical(stages, categories=list(LIFECYCLE_STAGES), ordered=True),
    })


def lifecycle_leads(customers: pd.DataFrame | None, leads: pd.DataFrame | None) -> pd.DataFrame | None:
    """The leads table to add to the CRM stages, or None when the CRM already holds the open leads.

    Leads that have not converted carry no customer id, so when the customers table also lists
    contacts at the lead / prospect / qualified stages, adding the leads table would count those
    people twice: the CRM's own stages are then the funnel.

    Examples
    --------
    >>> leads = pd.DataFrame({"lead_id": ["L1"]})
    >>> crm = pd.DataFrame({"customer_id": ["C1", "C2"], "stage": ["customer", "prospect"]})
    >>> lifecycle_leads(crm, leads) is None, lifecycle_leads(None, leads) is leads
    (True, True)
    """
    if crm_prospects(customers) is not None:
        return None
    return leads


def portfolio_stages(features: pd.DataFrame, as_of, *, customers: pd.DataFrame | None = None,
                     leads: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`lifecycle_stages` of a portfolio: its customers table and leads when present (see :func:`lifecycle_leads`).

    Parameters
    ----------
    features : DataFrame
        The customer features (customers with purchases).
    as_of : date-like
        Analysis date.
    customers, leads : DataFrame, optional
        The cleaned customers and leads tables.
    """
    return lifecycle_stages(customers, features, lifecycle_leads(customers, leads), as_of=as_of)


def stage_funnel(stages) -> pd.DataFrame:
    """Lead-to-customer funnel from a snapshot of lifecycle stages.

    Every "customer — ..." stage counts as ``customer``. ``contacts`` is the number of
    contacts currently at the stage; ``reached`` the number at that stage or a later one
    (a customer went through every earlier stage); ``conversion`` is ``reached`` over the
    ``reached`` of the previous stage (NaN for the first stage or when that is 0).

    Parameters
    ----------
    stages : DataFrame or Series
        :func:`lifecycle_stages` output, or its ``lifecycle_stage`` column.

    Examples
    --------
    >>> s = pd.Series(["lead"] * 5 + ["prospect"] * 3 + ["qualified prospect"] * 2
    ...               + ["customer — active"] * 2 + ["customer — lapsed"] * 2)
    >>> stage_funnel(s)
                    stage  contacts  reached  conversion
    0                lead         5       14         NaN
    1            prospect         3        9    0.642857
    2  qualified prospect         2        6    0.666667
    3            customer         4        4    0.666667
    """
    if isinstance(stages, pd.DataFrame):
        stages = stages["lifecycle_stage"]
    text = pd.Series(stages).astype("string")
    funnel = text.where(~text.str.startswith("customer").fillna(False), "customer")
    counts = funnel.value_counts().reindex(list(FUNNEL_STAGES), fill_value=0).astype("int64")
    reached = counts[::-1].cumsum()[::-1]
    previous = reached.shift(1)
    conversion = (reached / previous.where(previous > 0)).astype("float64")
    return pd.DataFrame({"stage": list(FUNNEL_STAGES), "contacts": counts.to_numpy(),
                         "reached": reached.to_numpy(), "conversion": conversion.to_numpy()})


# --------------------------------------------------------------------------------------------------
# Migration
# --------------------------------------------------------------------------------------------------

def _label_order(values) -> list:
    unique = pd.unique(pd.Series(values).dropna()).tolist()
    try:
        return sorted(unique)
    except TypeError:
        return sorted(unique, key=str)


def segment_migration(labels_before: pd.Series, labels_after: pd.Series,
                      revenue_after: pd.Series | None = None) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Customers moving between segments from one segmentation to the next.

    Both label Series are indexed by customer id. A customer only in ``labels_after``
    comes from the row ``"new"``; one only in ``labels_before`` goes to the column
    ``"gone"`` (missing labels count as absent).

    Returns
    -------
    counts : DataFrame
        Customers per (segment before, segment after): rows ``before`` segments then
        ``"new"``, columns ``after`` segments then ``"gone"``.
    revenue : DataFrame or None
        Sum of ``revenue_after`` (indexed by customer id; absent = 0) in each cell, None
        without ``revenue_after``.

    Examples
    --------
    >>> before = pd.Series({"a": 0, "b": 0, "c": 1, "d": 1})
    >>> after = pd.Series({"a": 0, "b": 1, "c": 1, "e": 1})
    >>> counts, revenue = segment_migration(before, after, pd.Series({"a": 10.0, "b": 5.0, "c": 7.0, "e": 1.0}))
    >>> counts.to_dict("index")
    {0: {0: 1, 1: 1, 'gone': 0}, 1: {0: 0, 1: 1, 'gone': 1}, 'new': {0: 0, 1: 1, 'gone': 0}}
    >>> revenue.loc[0, 1], revenue.loc["new", 1]
    (np.float64(5.0), np.float64(1.0))
    """
    before = pd.Series(labels_before).dropna()
    after = pd.Series(labels_after).dropna()
    ids = before.index.union(after.index, sort=False)
    b = pd.Series(before.tolist(), index=before.index, dtype=object).reindex(ids, fill_value="new")
    a = pd.Series(after.tolist(), index=after.index, dtype=object).reindex(ids, fill_value="gone")
    rows = _label_order(before) + ["new"]
    cols = _label_order(after) + ["gone"]
    frame = pd.DataFrame({"before": b.to_numpy(), "after": a.to_numpy()})
    counts = (frame.groupby(["before", "after"], sort=False).size()
              .unstack(fill_value=0).reindex(index=rows, columns=cols, fill_value=0).astype("int64"))
    counts.index.name, counts.columns.name = "before", "after"
    revenue = None
    if revenue_after is not None:
        frame["revenue"] = pd.Series(revenue_after).reindex(ids).fillna(0.0).astype("float64").to_numpy()
        revenue = (frame.groupby(["before", "after"], sort=False)["revenue"].sum()
                   .unstack(fill_value=0.0).reindex(index=rows, columns=cols, fill_value=0.0))
        revenue.index.name, revenue.columns.name = "before", "after"
    return counts, revenue


# --------------------------------------------------------------------------------------------------
# Notebook 04: the whole segmentation, or why it could not run; the saved segments table
# --------------------------------------------------------------------------------------------------

#: Columns of the saved segments table (``data/segments.parquet``), read by later notebooks.
SEGMENT_COLUMNS: tuple[str, ...] = ("customer_id", "rfm_segment", "cluster", "cluster_name", "lifecycle_stage")
#: RFM columns added to the per-customer table beside :data:`SEGMENT_COLUMNS`.
_RFM_COLUMNS = ("recency_days", "frequency", "monetary", "r_score", "f_score", "m_score")
SEGMENTS_FILE = "data/segments.parquet"


@dataclass
class CustomerSegments:
    """Outcome of :func:`segment_customers`: the segmentation, or why it could not run.

    Attributes
    ----------
    n_customers : int
        Customers with purchases (rows of the features).
    skipped : str or None
        None when the clustering ran, else why not: ``"too_few_customers"`` (fewer than
        ``needed`` customers), ``"no_varying_feature"`` (every feature is constant or
        near-constant) or ``"too_few_distinct"`` (fewer than ``needed`` customers with
        different features).
    needed : int or None
        The minimum that was not met.
    n_distinct : int or None
        Customers with different clustering features (when counted).
    result, stability, profiles, names
        :func:`fit_segments`, :func:`stability` (None with fewer than 2 segments),
        :func:`profiles` and :func:`name_clusters` outputs (None / empty when skipped).
    clusters : DataFrame
        ``customer_id, cluster, cluster_name`` for every customer (missing when skipped).
    dropped : DataFrame
        :func:`flat_features` of the candidate features.
    """

    n_customers: int
    clusters: pd.DataFrame
    dropped: pd.DataFrame
    skipped: str | None = None
    needed: int | None = None
    n_distinct: int | None = None
    result: SegmentationResult | None = None
    stability: dict | None = None
    profiles: pd.DataFrame | None = None
    names: dict = field(default_factory=dict)

    @property
    def ran(self) -> bool:
        """Whether the clustering ran."""
        return self.skipped is None


def _no_clusters(features: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": features["customer_id"].astype("string").to_numpy(),
                         "cluster": pd.array([pd.NA] * len(features), dtype="Int64"),
                         "cluster_name": pd.array([pd.NA] * len(features), dtype="string")})


def segment_customers(features: pd.DataFrame, k: int | None = None, algorithm: str = "kmeans", seed: int = 42,
                      categorical_weight: float = 0.5, name_overrides: Mapping | None = None,
                      n_boot: int = 20, value_col: str = "monetary",
                      fit_sample: int | None = FIT_SAMPLE) -> CustomerSegments:
    """Notebook 04's clustering: fit, check stability, profile and name the segments, or say why not.

    Runs :func:`fit_segments` on the default features (:data:`DEFAULT_NUMERIC`,
    :data:`DEFAULT_CATEGORICAL`, those present, flat ones dropped) when the portfolio
    allows it: at least :data:`MIN_CUSTOMERS` customers with purchases, at least one
    feature that varies, and at least ``ACTIONABLE_K[0]`` customers with different
    features. Otherwise nothing is fitted and ``skipped`` says which condition failed.
    The profiles cover every numeric feature that is not flat (with ``profit`` as the
    profit column when present); their ``top_features`` come from the clustering features.

    Parameters
    ----------
    features : DataFrame
        :func:`portfolio_helpers.analysis.features.customer_features`.
    k : int, optional
        Number of clusters; default the suggested one.
    algorithm, seed, categorical_weight
        As in :func:`fit_segments`.
    name_overrides : dict, optional
        Cluster names from the config (:func:`name_clusters`).
    n_boot : int
        Bootstrap refits of :func:`stability`.
    value_col : str
        Revenue column of the profiles.
    fit_sample : int or None, default :data:`FIT_SAMPLE`
        Above this many customers, the clusters are fitted, and their stability checked, on a
        seeded sample of this many customers; every customer is then assigned to its nearest
        segment (:func:`fit_segments`). None: always every customer.

    Returns
    -------
    CustomerSegments

    Examples
    --------
    >>> one = pd.DataFrame({"customer_id": ["c1"], "recency_days": [10], "monetary": [5.0]})
    >>> out = segment_customers(one)
    >>> out.ran, out.skipped, out.needed, out.n_customers
    (False, 'too_few_customers', 20, 1)
    """
    n = len(features)
    numeric, categorical = _choose_columns(features, None, None)
    dropped = flat_features(features, numeric + categorical)
    kept = [c for c in numeric + categorical if c not in set(dropped["feature"])]
    base = {"n_customers": n, "clusters": _no_clusters(features), "dropped": dropped}
    if n < MIN_CUSTOMERS:
        return CustomerSegments(**base, skipped="too_few_customers", needed=MIN_CUSTOMERS)
    if not kept:
        return CustomerSegments(**base, skipped="no_varying_feature")
    n_distinct = len(features[kept].drop_duplicates())
    if n_distinct < ACTIONABLE_K[0]:
        return CustomerSegments(**base, skipped="too_few_distinct", needed=ACTIONABLE_K[0], n_distinct=n_distinct)
    result = fit_segments(features, k=k, algorithm=algorithm, seed=seed, categorical_weight=categorical_weight,
                          fit_sample=fit_sample)
    # Nothing merged: the segments are the clusters of the fit stability would redo (on the rows it was
    # fitted on: every customer, or the seeded sample of a large portfolio, whose bootstrap it resamples).
    rows = slice(None) if result.fit_rows is None else result.fit_rows
    reference = result.labels.to_numpy()[rows] if not result.merged else None
    check = stability(result.matrix.to_numpy(dtype="float64")[rows], result.k, n_boot=n_boot, seed=seed,
                      algorithm=algorithm, reference=reference) if 2 <= result.k < result.n_fit else None
    profiled = [c for c in features.columns if c != "customer_id" and _is_numeric(features[c])]
    # each column checked once (the clustering candidates were above): a column's flatness depends on it alone
    checked = set(numeric + categorical)
    flat = set(dropped["feature"]) | set(flat_features(features, [c for c in profiled if c not in checked])["feature"])
    profiled = [c for c in profiled if c not in flat]
    profit_col = "profit" if "profit" in features.columns else None
    profile = profiles(features, result.labels, value_col=value_col, profit_col=profit_col, numeric=profiled,
                       top_from=result.numeric + result.categorical)
    names = name_clusters(profile, overrides=name_overrides)
    clusters = pd.DataFrame({"customer_id": features["customer_id"].astype("string").to_numpy(),
                             "cluster": pd.array(result.labels.to_numpy(), dtype="Int64"),
                             "cluster_name": pd.array(result.labels.map(names).to_numpy(), dtype="string")})
    return CustomerSegments(n_customers=n, clusters=clusters, dropped=dropped, n_distinct=n_distinct,
                            result=result, stability=check, profiles=profile, names=names)


def segment_table(scores: pd.DataFrame, segments: CustomerSegments, stages: pd.DataFrame) -> pd.DataFrame:
    """One row per customer: RFM values, scores and segment, cluster and its name, lifecycle stage.

    Parameters
    ----------
    scores : DataFrame
        :func:`portfolio_helpers.analysis.rfm.score_rfm` output.
    segments : CustomerSegments
        :func:`segment_customers` output (clusters missing when it did not run).
    stages : DataFrame
        :func:`lifecycle_stages` output (``contact_id, lifecycle_stage``).

    Returns
    -------
    DataFrame
        ``customer_id``, the RFM values and scores, then :data:`SEGMENT_COLUMNS`, in the
        order of ``scores``.
    """
    table = scores[["customer_id", *_RFM_COLUMNS, "rfm_segment"]].copy()
    table["customer_id"] = table["customer_id"].astype("string")
    table["rfm_segment"] = table["rfm_segment"].astype("string")
    table = table.merge(segments.clusters, on="customer_id", how="left")
    lifecycle = pd.DataFrame({"customer_id": stages["contact_id"].astype("string").to_numpy(),
                              "lifecycle_stage": stages["lifecycle_stage"].astype("string").to_numpy()})
    return table.merge(lifecycle, on="customer_id", how="left")


def save_segments(frame: pd.DataFrame, output_dir) -> Path:
    """Write the segments table to ``<output_dir>/data/segments.parquet`` (atomically).

    Parameters
    ----------
    frame : DataFrame
        Holds at least :data:`SEGMENT_COLUMNS` (e.g. :func:`segment_table`); only those are saved,
        typed: ``customer_id``, ``rfm_segment``, ``cluster_name`` and ``lifecycle_stage`` as
        strings, ``cluster`` as a nullable integer.
    output_dir : path
        Run folder of the notebooks.

    Returns
    -------
    Path of the file.

    Raises
    ------
    ColumnError
        When a column of :data:`SEGMENT_COLUMNS` is missing (the message names them; also a KeyError).

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> frame = pd.DataFrame({"customer_id": ["a"], "rfm_segment": ["Champions"], "cluster": [0],
    ...                       "cluster_name": ["Loyal"], "lifecycle_stage": ["customer — active"]})
    >>> _ = save_segments(frame, folder)
    >>> load_segments(folder).dtypes.astype(str).tolist()
    ['string', 'string', 'Int64', 'string', 'string']
    """
    require_columns(frame, SEGMENT_COLUMNS, table="segments")
    out = pd.DataFrame({c: frame[c].astype("string").to_numpy() for c in SEGMENT_COLUMNS if c != "cluster"})
    out.insert(2, "cluster", pd.array(pd.to_numeric(frame["cluster"]).to_numpy(), dtype="Int64"))
    return atomic_to_parquet(out, Path(output_dir) / SEGMENTS_FILE, index=False)


def load_segments(output_dir) -> pd.DataFrame | None:
    """The segments table saved by notebook 04 (:func:`save_segments`), or None when it did not run."""
    path = Path(output_dir) / SEGMENTS_FILE
    if not path.is_file():
        return None
    frame = pd.read_parquet(path)
    for col in SEGMENT_COLUMNS:
        frame[col] = frame[col].astype("Int64" if col == "cluster" else "string")
    return frame[list(SEGMENT_COLUMNS)]


def cluster_names(output_dir, customer_features: pd.DataFrame) -> pd.Series | None:
    """Notebook 04's cluster name of each customer of ``customer_features``, from the typed segments
    table it saved (:func:`load_segments`), or ``None`` when it has not run or could not cluster.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> cluster_names(folder, pd.DataFrame({"customer_id": ["a"]})) is None
    True
    >>> _ = save_segments(pd.DataFrame({"customer_id": ["a"], "rfm_segment": ["Lost"], "cluster": [0],
    ...                                 "cluster_name": ["Sleepers"], "lifecycle_stage": ["customer"]}), folder)
    >>> cluster_names(folder, pd.DataFrame({"customer_id": ["a", "z"]})).tolist()
    ['Sleepers', <NA>]
    """
    require_columns(customer_features, ("customer_id",), table="customer features")
    saved = load_segments(output_dir)
    if saved is None or saved["cluster_name"].isna().all():
        return None
    return customer_features["customer_id"].map(saved.set_index("customer_id")["cluster_name"])
