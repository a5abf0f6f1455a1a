"""Each model's own formulas against direct numerical integration, its properties, and parameter recovery."""

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import integrate, special, stats

from portfolio_helpers.analysis.clv import models

BG = (0.243, 4.414, 0.793, 2.426)
MBG = (0.525, 6.183, 0.891, 1.614)
PNBD = (0.553, 10.578, 0.606, 11.669)
CUSTOMERS = [(0, 0.0, 38.86), (2, 30.43, 38.86), (5, 12.0, 30.0), (1, 1.0, 20.0)]


def _lambda_moment(r, alpha, x, T):
    """∫ λ^x e^{-λT} Gamma(λ; r, α) dλ in closed form; the integrals over p, μ and the dropout time are numerical."""
    return np.exp(special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha) - (r + x) * np.log(alpha + T))


def _beta_mean(f, a, b):
    """∫ f(p) Beta(p; a, b) dp, numerically."""
    return integrate.quad(lambda p: f(p) * stats.beta.pdf(p, a, b), 0, 1, epsrel=1e-12, limit=400,
                          points=[1e-4, 1e-2, 0.1])[0]


def _bg_likelihood(params, x, tx, T, modified):
    r, alpha, a, b = params
    extra = 1 if modified else 0
    alive = _lambda_moment(r, alpha, x, T) * _beta_mean(lambda p: (1 - p) ** (x + extra), a, b)
    if x == 0 and not modified:
        return alive
    return alive + _lambda_moment(r, alpha, x, tx) * _beta_mean(lambda p: p * (1 - p) ** (x - 1 + extra), a, b)


def _pnbd_likelihood(params, x, tx, T):
    """Alive through T, or dropped out at τ in (t_x, T] (density s β^s / (β + τ)^(s+1) after mixing μ)."""
    r, alpha, s, beta = params
    alive = _lambda_moment(r, alpha, x, T) * (beta / (beta + T)) ** s
    dead = integrate.quad(lambda tau: _lambda_moment(r, alpha, x, tau) * s * beta**s / (beta + tau) ** (s + 1),
                          tx, T, epsrel=1e-12)[0]
    return alive + dead


@pytest.mark.parametrize(("x", "tx", "T"), CUSTOMERS)
def test_bg_likelihoods_against_integration(x, tx, T):
    for model, params, modified in (("bgnbd", BG, False), ("mbgnbd", MBG, True)):
        direct = _bg_likelihood(params, x, tx, T, modified)
        assert float(models.loglik(model, params, x, tx, T)) == pytest.approx(np.log(direct), abs=1e-7)


@pytest.mark.parametrize(("x", "tx", "T"), [*CUSTOMERS, (148, 136.29, 156.29)])
def test_pareto_likelihood_against_integration(x, tx, T):
    # both branches (alpha < beta, alpha >= beta); the last set is the sample portfolio's, where a heavy buyer
    # made the direct hypergeometric form fail
    for params in (PNBD, (PNBD[0], 15.0, PNBD[2], 3.0), (0.6953, 5.3415, 1.1318, 292.7362)):
        direct = _pnbd_likelihood(params, x, tx, T)
        assert float(models.loglik("pnbd", params, x, tx, T)) == pytest.approx(np.log(direct), abs=1e-7)


def test_gamma_gamma_against_integration():
    p, q, v = 6.25, 3.74, 15.44
    x, m = 3, 41.2

    def integrand(nu):
        return stats.gamma.pdf(m, p * x, scale=1 / (nu * x)) * stats.gamma.pdf(nu, q, scale=1 / v)

    likelihood = integrate.quad(integrand, 0, np.inf, epsabs=1e-15)[0]
    assert float(models.gg_loglik((p, q, v), x, m)) == pytest.approx(np.log(likelihood), abs=1e-7)
    mean = integrate.quad(lambda nu: p / nu * integrand(nu), 0, np.inf, epsabs=1e-15)[0] / likelihood
    assert float(models.expected_spend((p, q, v), x, m)) == pytest.approx(mean, rel=1e-6)


@pytest.mark.parametrize(("x", "tx", "T"), CUSTOMERS[1:3])
def test_conditional_expectations_and_p_alive_against_integration(x, tx, T):
    t = 26.0
    for model, params, extra in (("bgnbd", BG, 0), ("mbgnbd", MBG, 1)):
        r, alpha, a, b = params
        likelihood = np.exp(float(models.loglik(model, params, x, tx, T)))
        alive = _lambda_moment(r, alpha, x, T) * _beta_mean(lambda p: (1 - p) ** (x + extra), a, b)  # noqa: B023

        # E[purchases in (T, T+t] | alive, λ, p] = (1 - e^{-λpt}) / p, integrated over λ in closed form
        def given_p(p, r=r, alpha=alpha, a=a, b=b, extra=extra):
            log_weight = ((x + extra + b - 1) * np.log1p(-p) + (a - 2) * np.log(p) - special.betaln(a, b))
            return np.exp(log_weight) * -np.expm1(-(r + x) * np.log1p(p * t / (alpha + T)))

        future = _lambda_moment(r, alpha, x, T) * integrate.quad(given_p, 0, 1, epsrel=1e-12, limit=400,
                                                                 points=[1e-4, 1e-2, 0.1])[0]
        assert float(models.p_alive(model, params, x, tx, T)) == pytest.approx(alive / likelihood, rel=1e-6)
        assert float(models.conditional_expected_purchases(model, params, t, x, tx, T)) == pytest.approx(
            future / likelihood, rel=1e-6)
    r, alpha, s, beta = PNBD
    likelihood = np.exp(float(models.loglik("pnbd", PNBD, x, tx, T)))
    mu_pdf = stats.gamma(s, scale=1 / beta).pdf
    alive = _lambda_moment(r, alpha, x, T) * integrate.quad(lambda mu: np.exp(-mu * T) * mu_pdf(mu), 0, np.inf,
                                                             epsrel=1e-11)[0]
    # alive part of the likelihood times E[purchases in (T, T+t] | λ, μ] = λ/μ (1 - e^{-μt})
    future = (_lambda_moment(r, alpha, x + 1, T) * integrate.quad(
        lambda mu: np.exp(-mu * T) * (1 - np.exp(-mu * t)) / mu * mu_pdf(mu), 0, np.inf, epsrel=1e-11)[0])
    assert float(models.p_alive("pnbd", PNBD, x, tx, T)) == pytest.approx(alive / likelihood, rel=1e-6)
    assert float(models.conditional_expected_purchases("pnbd", PNBD, t, x, tx, T)) == pytest.approx(
        future / likelihood, rel=1e-6)


@pytest.mark.parametrize("t", [1.0, 32.0, 78.0])
def test_unconditional_expectations_against_integration(t):
    r, alpha, a, b = BG
    bg = integrate.quad(lambda p: (1 - (alpha / (alpha + p * t)) ** r) / p * stats.beta.pdf(p, a, b), 0, 1,
                        epsrel=1e-11)[0]
    assert float(models.expected_purchases("bgnbd", BG, t)) == pytest.approx(bg, rel=1e-6)
    r, alpha, a, b = MBG
    mbg = integrate.quad(lambda p: (1 - p) * (1 - (alpha / (alpha + p * t)) ** r) / p * stats.beta.pdf(p, a, b),
                         0, 1, epsrel=1e-11)[0]
    assert float(models.expected_purchases("mbgnbd", MBG, t)) == pytest.approx(mbg, rel=1e-6)
    r, alpha, s, beta = PNBD
    pn = r / alpha * integrate.quad(lambda mu: (1 - np.exp(-mu * t)) / mu * stats.gamma.pdf(mu, s, scale=1 / beta),
                                    0, np.inf, epsrel=1e-11)[0]
    assert float(models.expected_purchases("pnbd", PNBD, t)) == pytest.approx(pn, rel=1e-6)
    # s = 1 exactly: the limit r beta / alpha log(1 + t / beta)
    assert float(models.expected_purchases("pnbd", (0.5, 10.0, 1.0, 8.0), t)) == pytest.approx(
        0.5 * 8 / 10 * np.log1p(t / 8))


def test_p_alive_properties():
    x = np.array([0, 0, 0, 3])
    tx = np.array([0.0, 0.0, 0.0, 10.0])
    T = np.array([1.0, 20.0, 80.0, 80.0])
    # BG/NBD: a customer without a repeat purchase is alive for sure, however long ago it bought.
    assert models.p_alive("bgnbd", BG, x, tx, T)[:3].tolist() == [1.0, 1.0, 1.0]
    # MBG/NBD and Pareto/NBD: not, and the probability falls with the time since the purchase.
    for model, params in (("mbgnbd", MBG), ("pnbd", PNBD)):
        alive = models.p_alive(model, params, x, tx, T)
        assert np.all(alive < 1) and alive[0] > alive[1] > alive[2]
    # A repeat buyer silent for 70 weeks is less likely alive than one who just bought.
    assert models.p_alive("bgnbd", BG, 3, 10.0, 80.0) < models.p_alive("bgnbd", BG, 3, 79.0, 80.0)
    # The conditional expectation of a brand-new customer is the unconditional one.
    for model, params in (("bgnbd", BG), ("mbgnbd", MBG), ("pnbd", PNBD)):
        assert float(models.conditional_expected_purchases(model, params, 10.0, 0, 0.0, 0.0)) == pytest.approx(
            float(models.expected_purchases(model, params, 10.0)))


def test_stable_for_heavy_buyers():
    x, tx, T = np.array([300.0, 800.0, 148.0]), np.array([99.0, 100.0, 136.29]), np.array([100.0, 100.0, 156.29])
    # (the last: a heavy buyer of the sample portfolio, where the direct hypergeometric form gave NaN)
    for model, params in (("bgnbd", BG), ("mbgnbd", MBG), ("pnbd", PNBD), ("pnbd", (0.5, 1.0, 0.6, 40.0)),
                          ("pnbd", (0.6953, 5.3415, 1.1318, 292.7362))):
        assert np.all(np.isfinite(models.loglik(model, params, x, tx, T)))
        values = models.conditional_expected_purchases(model, params, 52.0, x, tx, T)
        assert np.all(np.isfinite(values)) and np.all(values[:2] > 100) and values[2] >= 0
        assert np.all(np.isfinite(models.p_alive(model, params, x, tx, T)))


@pytest.mark.parametrize("params", [(4.314, 7.808, 1292.69, 36145.78), (0.5, 3.0, 1.0, 2.0)])
def test_expectations_where_the_closed_form_breaks_down(params):
    """Both Beta parameters large (a fit of the kit on 31 heavy buyers: the Euler factor underflows to 0 and the
    hypergeometric function overflows, NaN for every customer) or a = 1 (0 / 0): the expectations come from
    quadrature over p, checked against direct integration, without a RuntimeWarning."""
    r, alpha, a, b = params
    t = 52.18
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for model, extra in (("bgnbd", 0), ("mbgnbd", 1)):
            for x, tx, T in ((32, 40.29, 51.57), (2, 30.43, 38.86), (0, 0.0, 20.0)):
                if model == "bgnbd" and x == 0:
                    continue
                likelihood = np.exp(float(models.loglik(model, params, x, tx, T)))

                def given_p(p, x=x, T=T, extra=extra):
                    weight = np.exp((x + extra + b - 1) * np.log1p(-p) + (a - 2) * np.log(p) - special.betaln(a, b))
                    return weight * -np.expm1(-(r + x) * np.log1p(p * t / (alpha + T)))

                mode = a / (a + b + x + extra)
                future = _lambda_moment(r, alpha, x, T) * integrate.quad(
                    given_p, 0, 1, epsrel=1e-12, limit=500, points=sorted({mode / 2, mode, min(2 * mode, 0.5)}))[0]
                got = float(models.conditional_expected_purchases(model, params, t, x, tx, T))
                assert got == pytest.approx(future / likelihood, rel=1e-8)
            unconditional = integrate.quad(
                lambda p, extra=extra: (1 - p) ** extra * (1 - (alpha / (alpha + p * t)) ** r) / p
                * stats.beta.pdf(p, a, b), 0, 1, epsrel=1e-12, limit=500, points=[a / (a + b)])[0]
            assert float(models.expected_purchases(model, params, t)) == pytest.approx(unconditional, rel=1e-8)
        # vectorised: the rows that need the quadrature and the others, in one call
        rows = ([t, 1.0], [32, 0], [40.29, 0.0], [51.57, 5.0])
        values = models.conditional_expected_purchases("mbgnbd", params, *rows)
        one_by_one = [float(models.conditional_expected_purchases("mbgnbd", params, *row)) for row in zip(*rows, strict=True)]
        assert values.tolist() == pytest.approx(one_by_one, rel=1e-12) and np.all(values > 0)


@pytest.mark.parametrize(("a", "b"), [(0.3, 0.7), (0.999999, 1e-6), (1e-6, 1e-6), (2.5, 3.0), (1292.69, 36145.78),
                                    (5e4, 2e5), (0.01, 1e4)])
def test_beta_nodes_give_the_beta_moments(a, b):
    """The quadrature of the fallback integrates the Beta distribution's first two moments exactly, including
    a + b = 1 (a 0 / 0 in the textbook recurrence) and parameters where scipy's roots_jacobi overflows."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nodes, weights = models._beta_nodes(a, b)
    mean = a / (a + b)
    assert weights.sum() == pytest.approx(1.0, abs=1e-12) and np.all(weights >= 0)
    assert weights @ nodes == pytest.approx(mean, rel=1e-9, abs=1e-15)
    assert weights @ nodes**2 == pytest.approx(mean * (a + 1) / (a + b + 1), rel=1e-8, abs=1e-15)


def _simulate(model, params, n, seed):
    rng = np.random.default_rng(seed)
    T = rng.uniform(30, 60, n)
    if model == "pnbd":
        r, alpha, s, beta = params
        lam = rng.gamma(r, 1 / alpha, n)
        window = np.minimum(rng.exponential(1 / rng.gamma(s, 1 / beta, n)), T)
        x = rng.poisson(lam * window)
        tx = np.where(x > 0, window * rng.beta(np.maximum(x, 1), 1), 0.0)
    else:
        r, alpha, a, b = params
        lam = rng.gamma(r, 1 / alpha, n)
        p = rng.beta(a, b, n)
        repeats = rng.geometric(p) - (1 if model == "mbgnbd" else 0)  # purchases before dropping out
        arrivals = rng.poisson(lam * T)
        x = np.minimum(repeats, arrivals)
        tx = np.where(x > 0, T * rng.beta(np.maximum(x, 1), np.maximum(arrivals - x + 1, 1)), 0.0)
    return pd.DataFrame({"frequency": x, "recency": tx, "T": T})


@settings(max_examples=4, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(model=st.sampled_from(["bgnbd", "pnbd", "mbgnbd"]), r=st.floats(0.3, 1.5), alpha=st.floats(2.0, 12.0),
       third=st.floats(0.6, 2.0), fourth=st.floats(2.0, 10.0))
def test_parameter_recovery(model, r, alpha, third, fourth):
    params = (r, alpha, third, fourth)
    data = _simulate(model, params, 5_000, seed=7)
    fit = models.fit_purchase_model(data, model)
    assert fit.ok
    theta = np.log(fit.values())
    z = (theta - np.log(params)) / np.sqrt(np.diag(fit.cov_log))
    assert np.all(np.abs(z) < 4.5), (fit.params, z)


def test_fit_reports_a_boundary():
    # Nobody ever repeats: the purchase rate runs to zero, the fit says so instead of returning numbers silently.
    data = pd.DataFrame({"frequency": [0] * 50 + [1], "recency": [0.0] * 50 + [1.0], "T": [40.0] * 51})
    fit = models.fit_purchase_model(data, "bgnbd")
    assert fit.status in ("on a boundary", "uncertain", "not converged")
    assert not np.isnan(fit.loglik)


def test_parameter_draws_are_seeded():
    fit = models.Fit("bgnbd", dict(zip(models.PARAMETERS["bgnbd"], BG, strict=True)), {}, -1.0, 10, "converged",
                     cov_log=np.diag([0.01, 0.02, 0.03, 0.04]))
    first, again = models.parameter_draws(fit, 500, seed=3), models.parameter_draws(fit, 500, seed=3)
    assert np.array_equal(first, again) and not np.array_equal(first, models.parameter_draws(fit, 500, seed=4))
    assert np.log(first).std(axis=0) == pytest.approx(np.sqrt([0.01, 0.02, 0.03, 0.04]), rel=0.15)


@pytest.mark.parametrize("model", ["bgnbd", "pnbd", "mbgnbd"])
def test_fit_likelihood_equals_the_per_customer_one(model):
    data = _simulate(model, (0.5, 6.0, 0.9, 3.0), 2_000, seed=2).round(1)
    prepared = models._Prepared(data["frequency"].to_numpy(float), data["recency"].to_numpy(),
                                data["T"].to_numpy())
    for params in ((0.5, 6.0, 0.9, 3.0), (0.7, 3.0, 2.0, 1.5)):  # both Pareto/NBD branches (alpha >= beta, <)
        direct = models.loglik(model, params, data["frequency"], data["recency"], data["T"]).sum()
        assert prepared.total(model, params) == pytest.approx(direct, rel=1e-12)


def test_spend_fit_likelihood_equals_the_per_customer_one():
    rng = np.random.default_rng(4)
    data = pd.DataFrame({"frequency": rng.integers(0, 6, 500), "monetary_value": rng.gamma(5, 6, 500)})
    fit = models.fit_spend_model(data)
    buyers = data[data["frequency"] > 0]
    direct = models.gg_loglik(fit.values(), buyers["frequency"], buyers["monetary_value"]).sum()
    assert fit.loglik == pytest.approx(direct, rel=1e-12) and fit.n == len(buyers)
