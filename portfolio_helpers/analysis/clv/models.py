"""Buy-till-you-die models fitted by maximum likelihood: BG/NBD, Pareto/NBD, MBG/NBD and Gamma-Gamma.

Purchase models (a customer buys at a Poisson rate ``lambda``, gamma-distributed across
customers with shape ``r`` and rate ``alpha``, until it drops out, unobserved):

- **BG/NBD** (Fader, Hardie & Lee 2005): after each *repeat* purchase the customer drops out
  with probability ``p``, beta-distributed with ``a, b``. A customer without repeat
  purchase is alive for sure (``P(alive) = 1``): a property of the model, not a finding.
- **MBG/NBD** (Batislam, Denizel & Filiztekin 2007): the customer may drop out after *every*
  purchase, the first included, so ``P(alive) < 1`` for a customer without repeat.
- **Pareto/NBD** (Schmittlein, Morrison & Colombo 1987): lifetimes are exponential with a
  dropout rate gamma-distributed with shape ``s`` and rate ``beta``.

Spend model: **Gamma-Gamma** (Fader, Hardie & Lee 2005, "RFM and CLV"): the value of a
purchase is gamma with shape ``p`` and a customer rate ``nu``, itself gamma with shape ``q``
and rate ``v`` (published as gamma); fitted on the customers with a repeat purchase and a
positive mean repeat value.

The log-likelihoods are vectorised over customers and written in log space
(``gammaln``; the Gauss hypergeometric functions through Euler's transformations, whose
series stay bounded). Fits maximise the log-likelihood over the
log of the parameters (``scipy.optimize``, L-BFGS-B), on the distinct ``(x, t_x, T)`` rows
with their counts. Standard errors come from the numerical Hessian (delta method); a fit
that does not converge, lands on a bound or has a singular Hessian says so in
:attr:`Fit.status`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import linalg, optimize
from scipy.special import betaln, expit, gammaln, hyp2f1

from portfolio_helpers.core.errors import ValueProblem
from portfolio_helpers.core.validation import require_choice, require_columns

__all__ = [
    "PURCHASE_MODELS",
    "PARAMETERS",
    "MODEL_NAMES",
    "Fit",
    "loglik",
    "gg_loglik",
    "fit_purchase_model",
    "fit_spend_model",
    "expected_purchases",
    "conditional_expected_purchases",
    "p_alive",
    "expected_spend",
    "parameter_draws",
]

PURCHASE_MODELS = ("bgnbd", "pnbd", "mbgnbd")
PARAMETERS: dict[str, tuple[str, ...]] = {
    "bgnbd": ("r", "alpha", "a", "b"),
    "pnbd": ("r", "alpha", "s", "beta"),
    "mbgnbd": ("r", "alpha", "a", "b"),
    "gg": ("p", "q", "v"),
}
MODEL_NAMES = {"bgnbd": "BG/NBD", "pnbd": "Pareto/NBD", "mbgnbd": "modified BG/NBD", "gg": "Gamma-Gamma"}
_LOG_BOUND = 15.0  # the search keeps parameters between exp(-15) = 3e-7 and exp(15) = 3.3e6
_EDGE = np.log(1e5)  # a parameter below 1e-5 or above 1e5 ran to the edge of the parameter space
_WIDE = 2.0  # a log-parameter with a standard error above 2 is known within a factor e**4 = 55 only


@dataclass(frozen=True)
class Fit:
    """A fitted model.

    Attributes
    ----------
    model : str
        ``"bgnbd"``, ``"pnbd"``, ``"mbgnbd"`` or ``"gg"``.
    params : dict
        Maximum-likelihood parameters by name (:data:`PARAMETERS`).
    se : dict
        Standard errors from the Hessian (NaN when it is singular).
    loglik : float
        Maximised log-likelihood (sum over customers).
    n : int
        Customers fitted.
    status : str
        ``"converged"``, ``"not converged"``, ``"on a boundary"`` (a parameter below 1e-5 or
        above 1e5: the data push it to a limit of the model) or ``"uncertain"`` (converged, but
        the Hessian is not positive definite or a parameter is known within a factor 55 only).
    message : str
        The optimiser's message.
    cov_log : ndarray
        Covariance of the log-parameters (for :func:`parameter_draws`); NaN when singular.
    """

    model: str
    params: dict
    se: dict
    loglik: float
    n: int
    status: str
    message: str = ""
    cov_log: np.ndarray = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        """True when the fit can be used: it converged inside the parameter space, or only its dropout
        parameter ran to 0 (:attr:`no_dropout`, reported by ``status``)."""
        return self.status in ("converged", "uncertain") or self.no_dropout

    @property
    def no_dropout(self) -> bool:
        """True when only the dropout process ran to its limit (BG/NBD ``a``, Pareto/NBD ``s`` below 1e-5, every
        other parameter inside the bounds): nobody seems to leave, the model is a plain NBD purchase-rate model.
        Any other boundary (a rate running to 0 or infinity) leaves no usable model."""
        name = "s" if self.model == "pnbd" else "a"
        others = [value for key, value in self.params.items() if key != name]
        return (self.status == "on a boundary" and self.model in PURCHASE_MODELS and self.params.get(name, 1.0) < 1e-5
                and all(np.exp(-_EDGE) <= value <= np.exp(_EDGE) for value in others))

    def values(self) -> tuple:
        """The parameters in the order of :data:`PARAMETERS`."""
        return tuple(self.params[name] for name in PARAMETERS[self.model])


# --------------------------------------------------------------------------- log-likelihoods

def _arrays(*values):
    return [np.asarray(v, dtype=np.float64) for v in values]


def _bg_loglik(params, x, tx, T, modified: bool):
    r, alpha, a, b = params
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    extra = 1.0 if modified else 0.0  # the MBG/NBD customer may also leave after the first purchase
    a2 = betaln(a, b + x + extra) - betaln(a, b)
    a3 = -(r + x) * np.log(alpha + T)
    repeat = (x > 0) | modified
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.log(a) - np.log(b + x - 1 + extra) - (r + x) * np.log(alpha + tx)
    a4 = np.where(repeat, a4, -np.inf)
    return a1 + a2 + np.logaddexp(a3, a4)


def _log_hyp_term(rsx, t, mx, mn, y):
    """log of 2F1(rsx, t; rsx + 1; z) / (mx + y)**rsx with z = (mx - mn) / (mx + y), via Euler's transformation
    2F1(rsx, t; rsx + 1; z) = (1 - z)**(1 - t) 2F1(1, rsx + 1 - t; rsx + 1; z): the new series has positive terms
    bounded by z**k and stays finite for heavy buyers (large ``t``), where the direct form overflows."""
    z = (mx - mn) / (mx + y)
    return ((1.0 - t) * (np.log(mn + y) - np.log(mx + y)) + np.log(hyp2f1(1.0, rsx + 1.0 - t, rsx + 1.0, z))
            - rsx * np.log(mx + y))


def _pnbd_log_a0(params, x, tx, T):
    r, alpha, s, beta = params
    rsx = r + s + x
    if alpha >= beta:
        mx, mn, t = alpha, beta, s + 1.0 + 0 * x
    else:
        mx, mn, t = beta, alpha, r + x
    l1 = _log_hyp_term(rsx, t, mx, mn, tx)
    l2 = _log_hyp_term(rsx, t, mx, mn, T)
    with np.errstate(divide="ignore", invalid="ignore"):
        return l1 + np.log1p(-np.exp(np.minimum(l2 - l1, 0.0)))


def _pnbd_loglik(params, x, tx, T):
    r, alpha, s, beta = params
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    left = np.log(s) - np.log(r + s + x) + _pnbd_log_a0(params, x, tx, T)
    return a1 + np.logaddexp(alive, left)


def loglik(model: str, params, x, tx, T) -> np.ndarray:
    """Per-customer log-likelihood of a purchase model.

    Parameters
    ----------
    model : {"bgnbd", "pnbd", "mbgnbd"}
    params : sequence of float
        In the order of :data:`PARAMETERS`.
    x, tx, T : array-like
        Repeat purchases, recency and age (one time unit).

    Examples
    --------
    >>> round(float(loglik("bgnbd", (0.243, 4.414, 0.793, 2.426), 2, 30.43, 38.86)), 4)
    -9.4586
    """
    x, tx, T = _arrays(x, tx, T)
    if model == "pnbd":
        return _pnbd_loglik(params, x, tx, T)
    if model in ("bgnbd", "mbgnbd"):
        return _bg_loglik(params, x, tx, T, modified=model == "mbgnbd")
    raise ValueProblem(f"model must be one of {', '.join(PURCHASE_MODELS)}, got {model!r}")


def gg_loglik(params, x, m) -> np.ndarray:
    """Per-customer log-likelihood of the Gamma-Gamma spend model (``x`` > 0 repeat purchases of mean ``m`` > 0).

    Examples
    --------
    >>> round(float(gg_loglik((6.25, 3.74, 15.44), 2, 22.345)), 4)
    -3.5512
    """
    p, q, v = params
    x, m = _arrays(x, m)
    return (gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(v) + p * x * np.log(x)
            + (p * x - 1) * np.log(m) - (p * x + q) * np.log(v + x * m))


# --------------------------------------------------------------------------- fitting

def _hessian(f, theta: np.ndarray, step: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of ``f`` at ``theta``."""
    k = len(theta)
    hess = np.empty((k, k))
    eye = np.eye(k) * step
    f0 = f(theta)
    for i in range(k):
        for j in range(i, k):
            if i == j:
                value = (f(theta + eye[i]) - 2 * f0 + f(theta - eye[i])) / step**2
            else:
                value = (f(theta + eye[i] + eye[j]) - f(theta + eye[i] - eye[j])
                         - f(theta - eye[i] + eye[j]) + f(theta - eye[i] - eye[j])) / (4 * step**2)
            hess[i, j] = hess[j, i] = value
    return hess


def _gradient(f, theta: np.ndarray, step: float = 1e-5) -> np.ndarray:
    eye = np.eye(len(theta)) * step
    return np.array([(f(theta + e) - f(theta - e)) / (2 * step) for e in eye])


def _newton_polish(f, theta: np.ndarray, fun: float, steps: int = 6) -> tuple[np.ndarray, float, bool]:
    """A few Newton steps on ``f`` (numerical gradient and Hessian, halving a step that does not improve).
    Returns the point, its value and whether the gradient vanished (max |g| < 1e-6)."""
    for _ in range(steps):
        grad = _gradient(f, theta)
        if np.max(np.abs(grad)) < 1e-6:
            return theta, fun, True
        hess = _hessian(f, theta)
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            break
        if not np.all(np.linalg.eigvalsh(hess) > 0):
            step = grad  # not convex here: a gradient step
        for _ in range(20):
            candidate = np.clip(theta - step, -_LOG_BOUND, _LOG_BOUND)
            value = f(candidate)
            if value < fun:
                theta, fun = candidate, value
                break
            step = step / 2
        else:
            break
    return theta, fun, bool(np.max(np.abs(_gradient(f, theta))) < 1e-6)


def _maximise(model: str, total_loglik, n: int, x0: np.ndarray) -> Fit:
    names = PARAMETERS[model]

    def objective(theta):
        # the search may try parameters where the likelihood is not finite: a poor point, not a warning
        with np.errstate(all="ignore"):
            value = total_loglik(np.exp(theta))
        return -value / n if np.isfinite(value) else 1e10

    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * len(names)
    result = optimize.minimize(objective, x0, method="L-BFGS-B", bounds=bounds,
                               options={"ftol": 1e-14, "gtol": 1e-9, "maxiter": 2000})
    theta, fun, success = result.x, float(result.fun), bool(result.success)
    if not success:  # L-BFGS-B stops when its numerical gradient gets noisy: finish with Newton steps
        theta, fun, success = _newton_polish(objective, theta, fun)
    theta = np.clip(theta, -_LOG_BOUND, _LOG_BOUND)
    with np.errstate(all="ignore"):
        hess = _hessian(lambda th: -total_loglik(np.exp(th)), theta)
    try:
        cov = np.linalg.inv(hess)
        positive = bool(np.all(np.linalg.eigvalsh(hess) > 0))
    except np.linalg.LinAlgError:
        cov, positive = np.full_like(hess, np.nan), False
    if not positive:
        cov = np.full_like(hess, np.nan)
    params = np.exp(theta)
    se = params * np.sqrt(np.diag(cov))
    if np.any(np.abs(theta) > _EDGE):
        status = "on a boundary"
    elif not success or not np.isfinite(fun):
        status = "not converged"
    elif not positive or np.any(np.sqrt(np.diag(cov)) > _WIDE):
        status = "uncertain"
    else:
        status = "converged"
    return Fit(model, dict(zip(names, params.tolist(), strict=True)), dict(zip(names, se.tolist(), strict=True)),
               float(total_loglik(params)), n, status, str(result.message), cov)


def _distinct(*columns) -> tuple[list[np.ndarray], np.ndarray]:
    """The distinct rows of the columns and how often each occurs (the likelihood is a weighted sum)."""
    stacked = np.column_stack(columns)
    rows, counts = np.unique(stacked, axis=0, return_counts=True)
    return [rows[:, i] for i in range(rows.shape[1])], counts.astype(np.float64)


class _Prepared:
    """The distinct ``(x, t_x, T)`` rows of a fit with their counts, and the distinct values of ``x``, ``T``,
    ``t_x`` and of the pairs ``(x, t_x)``, ``(x, T)``: the costly functions (``gammaln``, ``log``, ``hyp2f1``)
    are evaluated once per distinct value and gathered, so a likelihood costs little more than its rows."""

    def __init__(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray):
        (self.x, self.tx, self.T), self.counts = _distinct(x, tx, T)
        self.ux, self.ix = np.unique(self.x, return_inverse=True)
        self.uT, self.iT = np.unique(self.T, return_inverse=True)
        self.utx, self.itx = np.unique(self.tx, return_inverse=True)
        pairs, self.i_xtx = np.unique(np.column_stack([self.x, self.tx]), axis=0, return_inverse=True)
        self.p_xtx = (pairs[:, 0], pairs[:, 1])
        pairs, self.i_xT = np.unique(np.column_stack([self.x, self.T]), axis=0, return_inverse=True)
        self.p_xT = (pairs[:, 0], pairs[:, 1])
        self.i_xtx, self.i_xT = self.i_xtx.ravel(), self.i_xT.ravel()

    def total(self, model: str, params) -> float:
        """Sum of the log-likelihoods (equal to ``counts @ loglik(model, params, x, tx, T)``)."""
        x = self.x
        if model == "pnbd":
            r, alpha, s, beta = params
            a1 = (gammaln(r + self.ux) - gammaln(r))[self.ix] + r * np.log(alpha) + s * np.log(beta)
            alive = -(r + x) * np.log(alpha + self.uT)[self.iT] - s * np.log(beta + self.uT)[self.iT]
            if alpha >= beta:
                mx, mn = alpha, beta
                t1, t2 = s + 1.0, s + 1.0
            else:
                mx, mn = beta, alpha
                t1, t2 = r + self.p_xtx[0], r + self.p_xT[0]
            l1 = _log_hyp_term(r + s + self.p_xtx[0], t1, mx, mn, self.p_xtx[1])[self.i_xtx]
            l2 = _log_hyp_term(r + s + self.p_xT[0], t2, mx, mn, self.p_xT[1])[self.i_xT]
            with np.errstate(divide="ignore"):  # t_x = T: no time to drop out in, log(0)
                log_a0 = l1 + np.log1p(-np.exp(np.minimum(l2 - l1, 0.0)))
            values = a1 + np.logaddexp(alive, np.log(s) - np.log(r + s + x) + log_a0)
        else:
            r, alpha, a, b = params
            extra = 1.0 if model == "mbgnbd" else 0.0
            per_x = gammaln(r + self.ux) - gammaln(r) + betaln(a, b + self.ux + extra) - betaln(a, b)
            a3 = -(r + x) * np.log(alpha + self.uT)[self.iT]
            with np.errstate(divide="ignore", invalid="ignore"):
                a4 = (np.log(a) - np.log(b + self.ux - 1 + extra))[self.ix] - (r + x) * np.log(alpha + self.utx)[self.itx]
            if not extra:
                a4 = np.where(x > 0, a4, -np.inf)
            values = per_x[self.ix] + r * np.log(alpha) + np.logaddexp(a3, a4)
        return float(np.dot(self.counts, values))


def fit_purchase_model(summary: pd.DataFrame, model: str = "bgnbd", frequency_col: str = "frequency",
                       recency_col: str = "recency", T_col: str = "T") -> Fit:
    """Fit a purchase model by maximum likelihood on a :func:`~portfolio_helpers.analysis.clv.summary.rfm_summary`.

    Examples
    --------
    >>> s = pd.DataFrame({"frequency": [0, 1, 3, 0, 2, 5, 0, 1], "recency": [0, 5, 20, 0, 12, 30, 0, 3],
    ...                   "T": [30, 30, 32, 25, 35, 33, 20, 28]})
    >>> fit = fit_purchase_model(s, "bgnbd")
    >>> fit.n, fit.loglik < 0
    (8, True)
    """
    require_choice(model, "model", PURCHASE_MODELS)
    require_columns(summary, [frequency_col, recency_col, T_col], table="summary")
    prepared = _Prepared(summary[frequency_col].to_numpy(np.float64), summary[recency_col].to_numpy(np.float64),
                         summary[T_col].to_numpy(np.float64))
    return _maximise(model, lambda params: prepared.total(model, params), len(summary),
                     np.zeros(len(PARAMETERS[model])))


def fit_spend_model(summary: pd.DataFrame, frequency_col: str = "frequency",
                    monetary_col: str = "monetary_value") -> Fit:
    """Fit the Gamma-Gamma model on the customers with ``frequency > 0`` and ``monetary_value > 0``.

    Examples
    --------
    >>> s = pd.DataFrame({"frequency": [1, 2, 3, 1, 4, 0], "monetary_value": [20.0, 35.0, 15.0, 50.0, 25.0, 0.0]})
    >>> fit_spend_model(s).n
    5
    """
    require_columns(summary, [frequency_col, monetary_col], table="summary")
    keep = (summary[frequency_col] > 0) & (summary[monetary_col] > 0)
    x = summary.loc[keep, frequency_col].to_numpy(np.float64)
    m = summary.loc[keep, monetary_col].to_numpy(np.float64)
    ux, ix = np.unique(x, return_inverse=True)
    sum_log_m = np.bincount(ix, weights=np.log(m), minlength=len(ux))  # per distinct x: sum of log m
    counts = np.bincount(ix, minlength=len(ux)).astype(np.float64)

    def total(params):
        # gg_loglik summed, its gammaln terms evaluated once per distinct x
        p, q, v = params
        per_x = gammaln(p * ux + q) - gammaln(p * ux) - gammaln(q) + q * np.log(v) + p * ux * np.log(ux)
        return float(np.dot(counts, per_x) + np.dot(p * ux - 1, sum_log_m)
                     - np.sum((p * x + q) * np.log(v + x * m)))

    return _maximise("gg", total, int(keep.sum()), np.zeros(3))


# --------------------------------------------------------------------------- expectations

def _bg_bracket(params, t, x, T, extra: float):
    """1 - ((alpha+T)/(alpha+T+t))**(r+x) 2F1(r+x, b+x+extra; a+b+x+extra-1; z), by Euler's transformation
    (1 - z)**(a-1) 2F1(a+b+extra-1-r, a-1; a+b+x+extra-1; z), whose parameters do not grow with x."""
    r, alpha, a, b = params
    z = t / (alpha + T + t)
    c = a + b + x + extra - 1
    return 1.0 - np.exp((a - 1) * np.log1p(-z)) * hyp2f1(a + b + extra - 1 - r, a - 1, c, z)


_NODES = 48  # Gauss-Jacobi nodes of the fallback: exact for polynomials of degree 95 in p


@lru_cache(maxsize=4096)
def _beta_nodes(a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Jacobi nodes and weights (summing to 1) of the Beta(a, b) distribution on (0, 1), by the Golub-Welsch
    eigenvalue problem of its three-term recurrence; stays finite for any a, b > 0 (scipy's ``roots_jacobi``
    overflows beyond a + b of about 1,000, where the Beta distribution is narrow)."""
    al, be = b - 1.0, a - 1.0  # Jacobi weight (1 - u)**al (1 + u)**be on (-1, 1), p = (1 + u) / 2
    n = np.arange(_NODES, dtype=np.float64)
    s = 2 * n + al + be
    with np.errstate(divide="ignore", invalid="ignore"):
        diagonal = (be**2 - al**2) / (s * (s + 2))
    diagonal[0] = (be - al) / (al + be + 2)
    k = n[1:]
    s = 2 * k + al + be
    ratio = np.ones_like(k)  # (k + al + be) / (s - 1): 1 at k = 1 (0 / 0 when a + b = 1)
    ratio[1:] = (k[1:] + al + be) / (s[1:] - 1)
    off = np.sqrt(4 * k * (k + al) * (k + be) * ratio / (s**2 * (s + 1)))
    nodes, vectors = linalg.eigh_tridiagonal(diagonal, off)
    weights = vectors[0] ** 2
    return np.clip((1 + nodes) / 2, 0.0, 1.0), weights / weights.sum()


def _bg_alive_purchases(params, t, x, T, extra: float) -> np.ndarray:
    """E[purchases in (T, T + t] | alive at T, x repeat purchases] of BG/NBD (``extra`` 0) or MBG/NBD (1).

    Closed form (a + b + x + extra - 1) / (a - 1) x :func:`_bg_bracket`. When it is not finite (both Beta
    parameters large: the Euler factor underflows while the hypergeometric function overflows) or ``a`` is near 1
    (0 / 0), the same expectation by Gauss-Jacobi quadrature over the dropout probability ``p``, whose posterior
    given alive is Beta(a, b + x + extra):
    integral of (1 - ((alpha + T) / (alpha + T + p t))**(r + x)) / p, the purchase rate integrated out."""
    r, alpha, a, b = params
    t, x, T = np.broadcast_arrays(*_arrays(t, x, T))
    with np.errstate(all="ignore"):
        closed = (a + b + x - 1 + extra) / (a - 1) * _bg_bracket(params, t, x, T, extra)
    redo = np.atleast_1d(~np.isfinite(closed) | (abs(a - 1) < 1e-6))
    if not redo.any():
        return closed
    out = np.array(closed, dtype=np.float64, ndmin=1)
    x, u = np.atleast_1d(x), np.atleast_1d(t / (alpha + T))
    for xi in np.unique(x[redo]):  # the nodes depend on x only
        rows = redo & (x == xi)
        nodes, weights = _beta_nodes(float(a), float(b + xi + extra))
        pu = np.maximum(nodes, 1e-300)[None, :] * u[rows][:, None]
        # (1 - (1 + p u)**-(r + x)) / p, its limit (r + x) u at p = 0
        values = np.where(pu > 0, -np.expm1(-(r + xi) * np.log1p(pu)) / np.maximum(pu, 1e-300), r + xi) * u[rows][:, None]
        out[rows] = values @ weights
    return out.reshape(np.shape(closed))


def _pnbd_growth(s, u):
    """(1 - exp(-(s-1) u)) / (s - 1), with its limit u at s = 1."""
    s1 = s - 1.0
    return u if abs(s1) < 1e-10 else -np.expm1(-s1 * u) / s1


def expected_purchases(model: str, params, t) -> np.ndarray:
    """E[X(t)]: expected purchases of a new customer in ``(0, t]`` (time units of the fit).

    Examples
    --------
    >>> np.round(expected_purchases("bgnbd", (0.2426, 4.4136, 0.7929, 2.4259), [1, 3, 32, 78]), 3).tolist()
    [0.053, 0.151, 1.044, 1.858]
    """
    (t,) = _arrays(t)
    if model == "pnbd":
        r, alpha, s, beta = params
        return r * beta / alpha * _pnbd_growth(s, np.log1p(t / beta))
    if model in ("bgnbd", "mbgnbd"):
        r, alpha, a, b = params
        if model == "mbgnbd":  # alive after the first purchase with probability b / (a + b)
            return b / (a + b) * _bg_alive_purchases(params, t, 0.0, 0.0, 1.0)
        return _bg_alive_purchases(params, t, 0.0, 0.0, 0.0)
    raise ValueProblem(f"model must be one of {', '.join(PURCHASE_MODELS)}, got {model!r}")


def p_alive(model: str, params, x, tx, T) -> np.ndarray:
    """P(alive at T | x, t_x, T).

    Examples
    --------
    >>> p_alive("bgnbd", (0.243, 4.414, 0.793, 2.426), [0, 2], [0, 30.43], [38.86, 38.86]).round(4).tolist()
    [1.0, 0.7266]
    """
    x, tx, T = _arrays(x, tx, T)
    if model == "pnbd":
        r, alpha, s, beta = params
        log_odds = (np.log(s) - np.log(r + s + x) + (r + x) * np.log(alpha + T) + s * np.log(beta + T)
                    + _pnbd_log_a0(params, x, tx, T))
        return expit(-log_odds)
    if model in ("bgnbd", "mbgnbd"):
        r, alpha, a, b = params
        extra = 1.0 if model == "mbgnbd" else 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            log_odds = np.log(a) - np.log(b + x - 1 + extra) + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
        return np.where((x > 0) | (extra > 0), expit(-log_odds), 1.0)
    raise ValueProblem(f"model must be one of {', '.join(PURCHASE_MODELS)}, got {model!r}")


def conditional_expected_purchases(model: str, params, t, x, tx, T) -> np.ndarray:
    """E[Y(t) | x, t_x, T]: expected purchases in ``(T, T + t]`` of a customer with that history.

    Examples
    --------
    >>> round(float(conditional_expected_purchases("bgnbd", (0.243, 4.414, 0.793, 2.426), 39, 2, 30.43, 38.86)), 3)
    1.226
    """
    t, x, tx, T = _arrays(t, x, tx, T)
    alive = p_alive(model, params, x, tx, T)
    if model == "pnbd":
        r, alpha, s, beta = params
        growth = _pnbd_growth(s, np.log1p(t / (beta + T)))
        return alive * (r + x) / (alpha + T) * (beta + T) * growth
    r, alpha, a, b = params
    extra = 1.0 if model == "mbgnbd" else 0.0
    return alive * _bg_alive_purchases(params, t, x, T, extra)


def expected_spend(params, x, m) -> np.ndarray:
    """E[M | x, m]: expected value of a future purchase (Gamma-Gamma); the population mean when ``x`` = 0.

    Examples
    --------
    >>> expected_spend((6.25, 3.74, 15.44), [0, 2], [0.0, 22.345]).round(2).tolist()
    [35.22, 24.66]
    """
    p, q, v = params
    x, m = _arrays(x, m)
    m = np.where(x > 0, m, 0.0)
    return p * (v + x * m) / (p * x + q - 1)


def parameter_draws(fit: Fit, n: int, seed: int) -> np.ndarray:
    """``n`` parameter vectors drawn from the normal approximation of the log-parameters (parametric bootstrap).

    Returns an ``(n, k)`` array; the fitted parameters repeated when the covariance is unknown.

    Examples
    --------
    >>> fit = Fit("gg", {"p": 6.0, "q": 4.0, "v": 15.0}, {}, -1.0, 10, "converged",
    ...           cov_log=np.diag([0.01, 0.01, 0.01]))
    >>> parameter_draws(fit, 3, seed=1).shape
    (3, 3)
    """
    theta = np.log(np.asarray(fit.values(), dtype=np.float64))
    cov = fit.cov_log
    if cov is None or not np.all(np.isfinite(cov)):
        return np.exp(np.tile(theta, (n, 1)))
    rng = np.random.default_rng(seed)
    return np.exp(rng.multivariate_normal(theta, cov, size=n, method="eigh"))
