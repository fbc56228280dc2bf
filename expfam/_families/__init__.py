r"""The families, one module each; the public names are re-exported by :mod:`expfam`.

A distribution holds its natural parameters, stored in its dtype. One built from its
usual parameters also keeps those (rounded to its dtype, held in float64), reads them
back exactly and computes everything from them: a gamma, beta or Dirichlet shape
:math:`\alpha` is not recovered from :math:`\eta = \alpha - 1` (which holds it only
to an absolute precision of one ulp of 1: relative ``eps / alpha`` for
:math:`\alpha < 1`), nor a normal's :math:`(\mu, \sigma)` from
:math:`\eta = (\mu/\sigma^2, -1/(2\sigma^2))`. One built from natural or mean
parameters derives its usual parameters from the natural ones.

Everything is computed in float64 and returned in the distribution's dtype (float32
parameters give float32 results).

Samples of the gamma and beta families are rounded to the nearest float of the
*open* support: a variate below the smallest positive float becomes that float (and
a beta variate within half an ulp of 1 becomes the largest float below 1), never 0
or 1, where :math:`T(x)` would be infinite.

Where a textbook closed form cancels, a rearranged one is used (each documented
where it is used): the gamma log-density in Loader's form for large shapes,
cancellation-free digamma differences (the beta and Dirichlet mean maps), log-beta
functions (scipy's ``betaln`` loses up to ten digits for a small argument against a
large one) and entropies (asymptotic series for large shapes).

Boundary members are allowed where they are distributions: ``probs`` 0 or 1 for
Bernoulli and binomial (natural parameter :math:`\mp\infty`), rate 0 for Poisson
(:math:`\eta = -\infty`, a point mass at 0) and ``probs = 1`` for geometric. Their
log-probabilities, entropies and divergences are exact limits (computed by the
overrides below, which the generic formulas serve as test oracles for in the
interior).

Log-probabilities use Loader's saddle-point form [1]_ (for Poisson
:math:`\log p(x) = -\tfrac12\log(2\pi x) - \mathrm{stirlerr}(x) - \mathrm{bd0}(x, \lambda)`,
and its binomial analogue), which keeps full relative precision where
:math:`x\log\lambda - \lambda - \log x!` cancels terms of size :math:`\lambda\log\lambda`.

The expected log base measures :math:`E[\log x!]` (Poisson) and
:math:`E[\log\binom{n}{x}]` (binomial), and the entropies, are summed over the
window :math:`|x - \mu| \le t` where Bernstein's inequality bounds the mass outside
by :math:`2e^{-45}`, with positive terms only; for variances beyond ``1e4`` (Poisson)
and ``1e8`` (binomial) the entropy's asymptotic expansion is used instead, with a
truncation error below ``4e-17``.

References
----------
.. [1] C. Loader, "Fast and accurate computation of binomial probabilities", 2000.
"""
