"""Future value: buy-till-you-die purchase models, Gamma-Gamma spend, holdout evaluation, value on profit.

- :mod:`~portfolio_helpers.analysis.clv.summary`: the per-customer frequency, recency, age and
  mean repeat value, computed by the engine, and the calibration/holdout split;
- :mod:`~portfolio_helpers.analysis.clv.models`: BG/NBD, Pareto/NBD, modified BG/NBD and
  Gamma-Gamma by maximum likelihood, with their expectations;
- :mod:`~portfolio_helpers.analysis.clv.evaluation`: the models against naive baselines on the holdout;
- :mod:`~portfolio_helpers.analysis.clv.value`: expected purchases, revenue and profit per customer
  over a horizon, discounted, with the ``clv:`` config section and the data-fitness checks.
"""
