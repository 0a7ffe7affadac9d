"""Tests for amt_helpers.nmf: multiplicative-update NMF (Lee & Seung 2000).

Property tests (hypothesis) check the facts the lessons rest on: the objective never
increases, zeros stay zero, frozen templates stay bit-identical, inputs are never
modified. A cross-check against scikit-learn's MU solver pins the update rules.
"""

import types
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amt_helpers.nmf import NMFResult, beta_divergence, nmf, random_init

# Small problems keep each example a few milliseconds; no deadline (shared, noisy machine);
# no example database, so that a test run writes nothing into the work tree.
PROPS = settings(
    max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)

EPS = 1e-12  # nmf's default denominator guard
ALL_BETAS = [0.5, 1.0, 1.5, 2.0]  # KL and Euclidean have their own solvers; 0.5 and 1.5 the general one
BETAS = st.sampled_from(ALL_BETAS)
COMPUTE = st.sampled_from([np.float32, np.float64])


@st.composite
def problems(draw, zeros=True):
    """(V, W0, H0) with K, N in [1, 12], R in [1, 5]; optionally sprinkled with zeros."""
    K = draw(st.integers(1, 12))
    N = draw(st.integers(1, 12))
    R = draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = 10.0 ** draw(st.integers(-2, 2))
    V = scale * rng.random((K, N)) ** 2
    W0 = rng.random((K, R)) + 0.01
    H0 = scale * (rng.random((R, N)) + 0.01)
    if zeros and draw(st.booleans()):
        V[rng.random(V.shape) < 0.2] = 0.0
        W0[rng.random(W0.shape) < 0.3] = 0.0
        H0[rng.random(H0.shape) < 0.3] = 0.0
    if not V.any():
        V[0, 0] = scale
    return V, W0, H0


def cost_scale(V, beta, cost0):
    """Size of the terms the cost is computed from; its rounding error is relative to this.

    Euclidean: ‖V‖² − 2⟨V, WH⟩ + ‖WH‖² cancels down to the cost, so errors scale with ‖V‖².
    KL: Σ V log V − Σ V log WH − Σ V + Σ WH likewise scales with Σ V (1 + |log V|).
    Other β: Σ V^β, Σ (WH)^β and Σ V (WH)^(β−1), each divided by β (β − 1).
    """
    if beta == 2:
        return max(cost0, 0.5 * float(np.sum(np.square(V))))
    pos = V[V > 0]
    if beta == 1:
        return cost0 + float(np.sum(pos * (1 + np.abs(np.log(pos)))))
    return cost0 + 3 * float(np.sum(pos**beta)) / abs(beta * (beta - 1))


def rounding(V, beta, cost0, dtype):
    rel = 1e-5 if dtype == np.float32 else 1e-11
    return rel * cost_scale(V, beta, cost0) + 1e-300


# --- properties -------------------------------------------------------------------------------


@PROPS
@given(problems(), BETAS, COMPUTE, st.sampled_from(["learn", "fixed", "mask"]), st.data())
def test_objective_never_increases(prob, beta, dtype, mode, data):
    V, W0, H0 = prob
    R = W0.shape[1]
    fixed = {"learn": False, "fixed": True}.get(mode)
    if fixed is None:
        fixed = np.array(data.draw(st.lists(st.booleans(), min_size=R, max_size=R)), dtype=bool)
    res = nmf(V, W0, H0, n_iter=30, beta=beta, fixed_W=fixed, dtype=dtype)
    assert res.cost.shape == (31,)
    assert np.all(np.diff(res.cost) <= rounding(V, beta, res.cost[0], dtype))


@PROPS
@given(problems(zeros=True), BETAS, COMPUTE)
def test_zeros_stay_zero_output_finite_nonnegative(prob, beta, dtype):
    V, W0, H0 = prob
    res = nmf(V, W0, H0, n_iter=20, beta=beta, dtype=dtype)
    for out, init in ((res.W, W0), (res.H, H0)):
        assert np.all(out[init == 0] == 0)
        assert np.all(np.isfinite(out)) and np.all(out >= 0)
    assert np.all(np.isfinite(res.cost)) and np.all(res.cost >= 0)


@PROPS
@given(problems(), BETAS, st.sampled_from(["learn", "fixed", "mask"]))
def test_inputs_unchanged(prob, beta, mode):
    V, W0, H0 = prob
    fixed = {"learn": False, "fixed": True, "mask": np.arange(W0.shape[1]) % 2 == 0}[mode]
    copies = [a.copy() for a in (V, W0, H0)]
    for x in (V, W0, H0):
        x.flags.writeable = False  # any in-place write would raise
    nmf(V, W0, H0, n_iter=5, beta=beta, fixed_W=fixed)
    for a, b in zip((V, W0, H0), copies):
        assert np.array_equal(a, b)


@PROPS
@given(problems(), BETAS, COMPUTE)
def test_cost_matches_objective_from_scratch(prob, beta, dtype):
    V, W0, H0 = prob
    res = nmf(V, W0, H0, n_iter=15, beta=beta, dtype=dtype)
    start = beta_divergence(V, W0, H0, beta)
    tol = rounding(V, beta, start, dtype)
    for W, H, cost in ((res.W, res.H, res.cost[-1]), (W0, H0, res.cost[0])):
        if beta != 2:
            # nmf guards KL with V / (WH + eps): that is D(V | WH + eps), the divergence of a
            # model with one extra constant component (template eps, activation 1). So do the
            # other β but the Euclidean.
            W, H = np.hstack([W, np.full((W.shape[0], 1), EPS)]), np.vstack([H, np.ones(H.shape[1])])
        assert abs(cost - beta_divergence(V, W, H, beta)) <= tol


def test_kl_cost_is_finite_where_the_model_cannot_explain_V():
    V = np.array([[1.0, 2.0], [3.0, 4.0]])
    W0 = np.array([[1.0], [0.0]])  # bin 1 can never be explained: D(V | WH) = inf
    H0 = np.ones((1, 2))
    assert beta_divergence(V, W0, H0, 1) == np.inf
    res = nmf(V, W0, H0, n_iter=5, beta=1, dtype=np.float64)
    assert np.all(np.isfinite(res.cost)) and np.all(np.diff(res.cost) <= 0)
    np.testing.assert_allclose(res.H, [[1.0, 2.0]])  # the explainable bin is fitted exactly


@PROPS
@given(problems(zeros=False), BETAS)
def test_float32_and_float64_compute_agree(prob, beta):
    V, W0, H0 = prob
    r32 = nmf(V, W0, H0, n_iter=10, beta=beta)  # default: float32 arithmetic
    r64 = nmf(V, W0, H0, n_iter=10, beta=beta, dtype=np.float64)
    assert r32.W.dtype == r64.W.dtype == np.float64
    np.testing.assert_allclose(r32.cost, r64.cost, rtol=1e-4, atol=rounding(V, beta, r64.cost[0], np.float32))
    WH32, WH64 = r32.W @ r32.H, r64.W @ r64.H
    np.testing.assert_allclose(WH32, WH64, rtol=1e-2, atol=1e-3 * np.abs(WH64).max())


@pytest.mark.parametrize("beta", ALL_BETAS)
@pytest.mark.parametrize("compute", [np.float32, np.float64])
def test_dtype_preserved(beta, compute):
    rng = np.random.default_rng(0)
    V = rng.random((8, 9))
    W0, H0 = random_init(V, 3, rng)
    r = nmf(V.astype(np.float32), W0.astype(np.float32), H0.astype(np.float32), n_iter=3, beta=beta, dtype=compute)
    assert r.W.dtype == r.H.dtype == np.float32
    r = nmf(V, W0, H0, n_iter=3, beta=beta, dtype=compute)
    assert r.W.dtype == r.H.dtype == np.float64
    r = nmf((V * 100).astype(np.int64), W0, H0, n_iter=3, beta=beta, dtype=compute)
    assert r.W.dtype == np.float64
    assert r.cost.dtype == np.float64


@PROPS
@given(problems(), BETAS, COMPUTE)
def test_fixed_W_true_leaves_W_bit_identical(prob, beta, dtype):
    V, W0, H0 = prob
    res = nmf(V, W0, H0, n_iter=10, beta=beta, fixed_W=True, dtype=dtype)
    assert res.W.dtype == W0.dtype and np.array_equal(res.W, W0)


@PROPS
@given(problems(zeros=False), BETAS, COMPUTE, st.data())
def test_mask_freezes_exactly_the_masked_columns(prob, beta, dtype, data):
    V, W0, H0 = prob
    R = W0.shape[1]
    mask = np.array(data.draw(st.lists(st.booleans(), min_size=R, max_size=R)), dtype=bool)
    res = nmf(V, W0, H0, n_iter=10, beta=beta, fixed_W=mask, dtype=dtype)
    assert np.array_equal(res.W[:, mask], W0[:, mask])
    assert np.array_equal(res.W[W0 == 0], W0[W0 == 0])


@pytest.mark.parametrize("beta", ALL_BETAS)
@pytest.mark.parametrize("compute", [np.float32, np.float64])
def test_mask_learns_the_other_columns(beta, compute):
    rng = np.random.default_rng(7)
    V = rng.random((12, 15))
    W0, H0 = random_init(V, 4, rng)
    mask = np.array([True, False, True, False])
    res = nmf(V, W0, H0, n_iter=10, beta=beta, fixed_W=mask, dtype=compute)
    assert np.array_equal(res.W[:, mask], W0[:, mask])
    assert np.all(res.W[:, ~mask] != W0[:, ~mask])


def test_mask_all_true_equals_fixed_W_true_and_all_false_equals_learn():
    rng = np.random.default_rng(3)
    V = rng.random((10, 12))
    W0, H0 = random_init(V, 4, rng)
    for beta in ALL_BETAS:
        a = nmf(V, W0, H0, n_iter=8, beta=beta, fixed_W=np.ones(4, bool))
        b = nmf(V, W0, H0, n_iter=8, beta=beta, fixed_W=True)
        assert np.array_equal(a.H, b.H) and np.array_equal(a.cost, b.cost)
        c = nmf(V, W0, H0, n_iter=8, beta=beta, fixed_W=np.zeros(4, bool))
        d = nmf(V, W0, H0, n_iter=8, beta=beta)
        assert np.array_equal(c.W, d.W) and np.array_equal(c.H, d.H)


@pytest.mark.parametrize("beta", ALL_BETAS)
@pytest.mark.parametrize("fixed", [False, True])
def test_tol_stops_early_and_reports_n_iter(beta, fixed):
    rng = np.random.default_rng(1)
    V = rng.random((20, 3)) @ rng.random((3, 30))
    W0, H0 = random_init(V, 3, rng)
    full = nmf(V, W0, H0, n_iter=500, beta=beta, fixed_W=fixed, dtype=np.float64)
    tol = 1e-4
    res = nmf(V, W0, H0, n_iter=500, beta=beta, fixed_W=fixed, tol=tol, dtype=np.float64)
    assert 1 <= res.n_iter < 500
    assert res.cost.shape == (res.n_iter + 1,)
    # Stopped at the first iteration whose relative decrease fell below tol...
    rel = np.abs(np.diff(full.cost)) / full.cost[0]
    assert res.n_iter == int(np.argmax(rel < tol)) + 1
    # ...and the run up to there is the same computation as without tol.
    np.testing.assert_array_equal(res.cost, full.cost[: res.n_iter + 1])


def test_n_iter_zero_returns_the_initialisation():
    rng = np.random.default_rng(2)
    V = rng.random((5, 7))
    W0, H0 = random_init(V, 2, rng)
    for beta in ALL_BETAS:
        res = nmf(V, W0, H0, n_iter=0, beta=beta, dtype=np.float64)
        assert res.n_iter == 0 and res.cost.shape == (1,)
        assert np.array_equal(res.W, W0) and np.array_equal(res.H, H0)
        assert res.cost[0] == pytest.approx(beta_divergence(V, W0, H0, beta), rel=1e-9)


@pytest.mark.parametrize("beta", ALL_BETAS)
@pytest.mark.parametrize("fixed_W", [False, True])
def test_callback_sees_every_iteration(beta, fixed_W):
    rng = np.random.default_rng(4)
    V = rng.random((6, 8))
    W0, H0 = random_init(V, 2, rng)
    seen = []

    def record(i, W, H, cost):
        seen.append((i, W.copy(), H.copy(), cost))

    res = nmf(V, W0, H0, n_iter=7, beta=beta, fixed_W=fixed_W, callback=record, dtype=np.float64)
    assert [s[0] for s in seen] == list(range(1, 8))
    np.testing.assert_array_equal([s[3] for s in seen], res.cost[1:])
    assert np.array_equal(seen[-1][1], res.W) and np.array_equal(seen[-1][2], res.H)


@pytest.mark.parametrize("beta", ALL_BETAS)
def test_tol_stops_at_once_when_the_start_is_exact(beta):
    rng = np.random.default_rng(6)
    W0, H0 = rng.random((5, 2)) + 0.1, rng.random((2, 7)) + 0.1
    res = nmf(W0 @ H0, W0, H0, n_iter=50, beta=beta, tol=1e-4, dtype=np.float64)
    if beta in (1, 2):
        assert res.n_iter == 1 and res.cost[0] == pytest.approx(0.0, abs=1e-12)
    else:
        # The general β's cost is a difference of sums of size Σ V^β: at an exact start it is
        # rounding noise (~1e-14), whose relative changes tol cannot judge. It stays noise.
        assert res.n_iter < 50 and np.all(np.abs(res.cost) < 1e-12)


def test_result_is_frozen_dataclass():
    rng = np.random.default_rng(5)
    V = rng.random((4, 5))
    res = nmf(V, *random_init(V, 2, rng), n_iter=2)
    assert isinstance(res, NMFResult)
    with pytest.raises(AttributeError):
        res.n_iter = 3


def test_converges_on_an_exactly_low_rank_matrix():
    rng = np.random.default_rng(6)
    V = rng.random((30, 4)) @ rng.random((4, 40))
    W0, H0 = random_init(V, 4, rng)
    for beta in ALL_BETAS:
        res = nmf(V, W0, H0, n_iter=1000, beta=beta, dtype=np.float64)
        assert res.cost[-1] < 1e-3 * res.cost[0]


# --- random_init ------------------------------------------------------------------------------


def test_random_init_scale_seed_and_dtype():
    V = np.full((50, 60), 4.0)
    W, H = random_init(V, 8, rng=123)
    W2, H2 = random_init(V, 8, rng=np.random.default_rng(123))
    assert np.array_equal(W, W2) and np.array_equal(H, H2)
    assert W.shape == (50, 8) and H.shape == (8, 60)
    assert (W >= 0).all() and (H >= 0).all()
    # sklearn's scale: entries ~ sqrt(mean(V) / R) · |N(0, 1)|, so mean(WH) ≈ mean(V) · (2/π)
    assert np.mean(W @ H) == pytest.approx(4.0 * 2 / np.pi, rel=0.1)
    W32, H32 = random_init(V.astype(np.float32), 8, rng=0)
    assert W32.dtype == H32.dtype == np.float32


def test_random_init_uses_no_global_state():
    V = np.ones((5, 6))
    np.random.seed(0)
    a = random_init(V, 2, rng=7)
    np.random.seed(1)
    b = random_init(V, 2, rng=7)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(R=0), "R must"),
        (dict(R=2.5), "R must"),
        (dict(rng=None), "rng must"),
        (dict(rng=np.random.RandomState(0)), "rng must"),
        (dict(rng=True), "rng must"),
        (dict(V=-np.ones((3, 3))), "V contains negative"),
        (dict(V=np.zeros((3, 3))), "V is all zeros"),
    ],
)
def test_random_init_validation(kwargs, match):
    args = dict(V=np.ones((3, 4)), R=2, rng=0) | kwargs
    with pytest.raises(ValueError, match=match):
        random_init(**args)


# --- beta_divergence --------------------------------------------------------------------------


def test_beta_divergence_known_values():
    W = np.array([[1.0], [2.0]])
    H = np.array([[1.0, 3.0]])
    V = np.array([[2.0, 3.0], [0.0, 6.0]])
    assert beta_divergence(V, W, H, 2) == pytest.approx(0.5 * (1 + 4))
    # KL: 2 log 2 − 2 + 1 (entry 0,0), 0 − 0 + 2 (entry 1,0: 0 log 0 = 0), the rest exact.
    assert beta_divergence(V, W, H, 1) == pytest.approx(2 * np.log(2) - 1 + 2)
    assert beta_divergence(np.array([[1.0, 1.0]]), np.array([[1.0]]), np.array([[0.0, 1.0]]), 1) == np.inf
    # β = 0.5: (V^β − 0.5 (WH)^β − 0.5 V (WH)^(−0.5)) / −0.25 per entry; entry (0, 0) is
    # (√2 − 0.5 − 1) / −0.25, entry (1, 0) is (0 − 0.5 √2 − 0) / −0.25.
    expected = (np.sqrt(2) - 1.5 - 0.5 * np.sqrt(2)) / -0.25 + 0  # entries (0, 1) and (1, 1): V = WH
    expected += (np.sqrt(3) - 0.5 * np.sqrt(3) - 0.5 * 3 / np.sqrt(3)) / -0.25
    assert beta_divergence(V, W, H, 0.5) == pytest.approx(expected)
    assert beta_divergence(np.array([[1.0, 1.0]]), np.array([[1.0]]), np.array([[0.0, 1.0]]), 0.5) == np.inf
    # β = 1.5: where WH is 0 and V is not, the divergence is finite, V^β / (β (β − 1)).
    assert beta_divergence(np.array([[4.0]]), np.array([[1.0]]), np.array([[0.0]]), 1.5) == pytest.approx(8 / 0.75)


# --- validation -------------------------------------------------------------------------------


def _good():
    rng = np.random.default_rng(0)
    V = rng.random((10, 12))
    W0, H0 = random_init(V, 3, rng)
    return dict(V=V, W_init=W0, H_init=H0)


def _with(**changes):
    args = _good()
    for key, value in changes.items():
        args[key] = value(args) if isinstance(value, types.FunctionType) else value
    return args


BAD_INPUTS = [
    ("V 1-D", dict(V=np.ones(10)), r"V must be 2-D"),
    ("V complex", dict(V=lambda a: a["V"] + 0j), r"V must be a real numeric array"),
    ("V strings", dict(V=[["a", "b"]]), r"V must be a real numeric array"),
    ("V negative", dict(V=lambda a: a["V"] - 1), r"V contains negative"),
    ("V nan", dict(V=lambda a: np.where(np.eye(10, 12) > 0, np.nan, a["V"])), r"V contains NaN or inf"),
    ("V inf", dict(V=lambda a: np.where(np.eye(10, 12) > 0, np.inf, a["V"])), r"V contains NaN or inf"),
    ("V zeros", dict(V=np.zeros((10, 12))), r"V is all zeros"),
    ("V empty", dict(V=np.zeros((0, 12))), r"V is empty"),
    ("W rows", dict(W_init=lambda a: a["W_init"][:-1]), r"W_init has shape \(9, 3\) but V has 10 frequency bins"),
    ("H frames", dict(H_init=lambda a: a["H_init"][:, :-1]), r"H_init has shape \(3, 11\) but V has 12 frames"),
    ("H rows", dict(H_init=lambda a: a["H_init"][:2]), r"H_init has shape \(2, 12\) but W_init has shape \(10, 3\)"),
    ("W negative", dict(W_init=lambda a: -a["W_init"]), r"W_init contains negative"),
    ("H nan", dict(H_init=lambda a: a["H_init"] * np.nan), r"H_init contains NaN"),
    ("W 3-D", dict(W_init=np.ones((10, 3, 1))), r"W_init must be 2-D"),
    ("R zero", dict(W_init=np.ones((10, 0)), H_init=np.ones((0, 12))), r"W_init is empty"),
    ("n_iter negative", dict(n_iter=-1), r"n_iter must be an integer >= 0"),
    ("n_iter float", dict(n_iter=2.0), r"n_iter must be an integer"),
    ("beta 0", dict(beta=0), r"beta must be a number in \(0, 2\]"),
    ("beta 3", dict(beta=3), r"beta must be a number in \(0, 2\]"),
    ("beta nan", dict(beta=np.nan), r"beta must be"),
    ("beta str", dict(beta="kl"), r"beta must be"),
    ("tol negative", dict(tol=-1e-3), r"tol must be"),
    ("tol nan", dict(tol=np.nan), r"tol must be"),
    ("eps zero", dict(eps=0.0), r"eps must be"),
    ("fixed_W int mask", dict(fixed_W=np.array([1, 0, 1])), r"fixed_W must be .* boolean mask of length R=3"),
    ("fixed_W wrong length", dict(fixed_W=np.array([True, False])), r"fixed_W must be .*length R=3"),
    ("callback", dict(callback=42), r"callback must be callable"),
    ("dtype", dict(dtype=np.float16), r"dtype must be np.float32 or np.float64"),
    ("dtype junk", dict(dtype="nonsense"), r"dtype must be"),
]


@pytest.mark.parametrize("changes, match", [b[1:] for b in BAD_INPUTS], ids=[b[0] for b in BAD_INPUTS])
def test_bad_inputs_raise_value_error_naming_the_argument(changes, match):
    args = _with(**changes)
    V, W0, H0 = args.pop("V"), args.pop("W_init"), args.pop("H_init")
    with pytest.raises(ValueError, match=match):
        nmf(V, W0, H0, **args)


def test_beta_divergence_validates():
    with pytest.raises(ValueError, match="beta must be"):
        beta_divergence(np.ones((2, 2)), np.ones((2, 1)), np.ones((1, 2)), 3)
    with pytest.raises(ValueError, match="H_init has shape"):
        beta_divergence(np.ones((2, 2)), np.ones((2, 1)), np.ones((1, 3)), 2)


# --- cross-check with scikit-learn ------------------------------------------------------------


@pytest.mark.parametrize("beta, loss", [(2, "frobenius"), (1, "kullback-leibler"), (0.5, 0.5), (1.5, 1.5)])
@pytest.mark.parametrize("seed", [0, 1])
def test_matches_sklearn_mu(beta, loss, seed):
    from sklearn.decomposition import NMF

    rng = np.random.default_rng(seed)
    V = rng.random((40, 3)) @ rng.random((3, 50)) + 0.1 * rng.random((40, 50))
    R, n = 5, 60
    W0, H0 = random_init(V, R, rng)
    ours = nmf(V, W0, H0, n_iter=n, beta=beta, dtype=np.float64)

    # sklearn factorises X ≈ W H with X = Vᵀ: its W is our Hᵀ, its H is our Wᵀ. It updates
    # its W (our H) first, then its H (our W): the same order as ours.
    model = NMF(n_components=R, solver="mu", init="custom", tol=0, max_iter=n, beta_loss=loss)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning for tol=0
        H_sk = model.fit_transform(V.T, W=H0.T.copy(), H=W0.T.copy()).T
    W_sk = model.components_.T

    np.testing.assert_allclose(ours.H, H_sk, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(ours.W, W_sk, rtol=1e-7, atol=1e-10)
    sk_obj = beta_divergence(V, W_sk, H_sk, beta)
    assert ours.cost[-1] == pytest.approx(sk_obj, rel=1e-9)
    # The default float32 arithmetic reaches the same objective to float32 accuracy.
    assert nmf(V, W0, H0, n_iter=n, beta=beta).cost[-1] == pytest.approx(sk_obj, rel=1e-4)


@pytest.mark.parametrize("beta", ALL_BETAS)
def test_no_subnormal_numbers_after_long_runs(beta):
    # Unused entries decay geometrically under MU; in float32 they would become subnormal
    # (slow arithmetic) after a few hundred iterations unless flushed to zero.
    # A spectrogram's high bins are near zero: there, W decays to subnormals without a flush.
    from amt_helpers import audio, data

    x, sr, _ = data.load_example("scale")
    V = np.abs(audio.stft(x[: 3 * sr]))
    W0, H0 = random_init(V, 20, rng=0)
    result = nmf(V, W0, H0, n_iter=400, beta=beta)
    tiny = np.finfo(np.float32).tiny
    for factor in (result.W, result.H):
        assert not np.any((factor > 0) & (factor < tiny))
