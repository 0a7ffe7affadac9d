"""Non-negative matrix factorisation (NMF) with multiplicative updates.

Audio orientation, as in Müller, *Fundamentals of Music Processing* (FMP), §8.3:

- ``V`` (K × N): a non-negative spectrogram, K frequency bins × N frames,
- ``W`` (K × R): R spectral templates, one per column,
- ``H`` (R × N): their activations over time, one row per template,

with ``V ≈ W @ H``. The objective is a β-divergence (Févotte & Idier 2011),
chosen with ``beta``:

- ``beta=2``, Euclidean: ``½ ‖V − WH‖²_F``;
- ``beta=1``, generalised Kullback–Leibler:
  ``Σ V log(V / WH) − V + WH`` (with ``0 log 0 = 0``);
- any other ``0 < beta < 2``:
  ``Σ (V^β + (β − 1) (WH)^β − β V (WH)^(β−1)) / (β (β − 1))``.
  The smaller β, the more a quiet part of ``V`` counts against a loud one
  (β = 2 weighs an error by its absolute size, β → 0 by its relative size);
  β = 0.5 is a common choice for music (Vincent et al. 2010, Dessein et al. 2010).

The multiplicative updates (MU) of Lee & Seung (2000) alternate

Euclidean::

    H ← H ∘ (WᵀV) / (WᵀW H)
    W ← W ∘ (VHᵀ) / (W HHᵀ)

Kullback–Leibler (``Q = V / WH``, ``1`` a vector of ones)::

    H ← H ∘ (WᵀQ) / (Wᵀ1)
    W ← W ∘ (QHᵀ) / (1Hᵀ)

general β (``P = V ∘ (WH)^(β−2)``, ``Q = (WH)^(β−1)``; Févotte & Idier 2011)::

    H ← H ∘ ((WᵀP) / (WᵀQ))^γ
    W ← W ∘ ((PHᵀ) / (QHᵀ))^γ

with ``γ = 1 / (2 − β)`` for β < 1 and ``γ = 1`` for 1 ≤ β ≤ 2: the exponent
that makes each step a majorisation–minimisation step. (β = 1 and 2 are the
two rules above.)

Each step never increases the objective, and an entry that is zero stays zero
forever. This second property is what turns a harmonic-comb initialisation of
``W`` into a constraint: guards therefore only touch denominators, never the
numerators or the factors.

Implementation notes (why the code looks the way it does):

- Everything is matrix products and in-place element-wise operations on
  preallocated buffers; there is no Python loop over bins or frames.
- Euclidean: the K × N matrix ``WH`` is never formed. The objective after each
  iteration comes almost for free from products the updates need anyway,
  ``½ (‖V‖² − 2 ⟨W, VHᵀ⟩ + ⟨WᵀW, HHᵀ⟩)``. This expansion cancels
  catastrophically when the fit is nearly exact, so it is clipped at 0 and is
  accurate to about ``eps_dtype · ‖V‖²`` (absolute).
- Kullback–Leibler: one K × N product ``WH`` per half-step is unavoidable; the
  product computed for the next ``H`` update also gives the objective of the
  current iterate, so logging the cost costs one ``log2`` and one reduction.
- General β: likewise, plus one power of ``WH`` per half-step; ``P`` and ``Q``
  sit side by side in one K × 2N buffer, so that ``WᵀP`` and ``WᵀQ`` are one
  matrix product.
- With ``fixed_W=True`` (the transcription case) ``WᵀV`` and ``WᵀW``
  (Euclidean) or the column sums of ``W`` (KL) are computed once.
- By default the arithmetic is done in float32, which runs about twice as fast
  as float64 on CPUs (BLAS throughput and memory traffic) and is far more
  precise than a spectrogram is accurate; ``dtype=np.float64`` opts out.

References
----------
D. D. Lee and H. S. Seung, "Algorithms for non-negative matrix factorization",
Advances in Neural Information Processing Systems 13 (NIPS 2000), pp. 556–562.

C. Févotte and J. Idier, "Algorithms for nonnegative matrix factorization with
the β-divergence", Neural Computation 23(9), 2011, pp. 2421–2456.

M. Müller, *Fundamentals of Music Processing*, 2nd ed., Springer, 2021, §8.3
(NMF-based spectrogram decomposition).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Callable, Optional, Union

import numpy as np
import numpy.typing as npt

__all__ = ["NMFResult", "beta_divergence", "nmf", "random_init"]

#: Callback signature: ``callback(i, W, H, cost)``.
Callback = Callable[[int, np.ndarray, np.ndarray, float], None]

_LN2 = math.log(2.0)
_DEFAULT_EPS = 1e-12


@dataclass(frozen=True, eq=False)
class NMFResult:
    """Result of :func:`nmf`.

    Attributes
    ----------
    W : np.ndarray, shape (K, R)
        Learned templates (frequency bins × components), in the input's dtype.
    H : np.ndarray, shape (R, N)
        Learned activations (components × frames), in the input's dtype.
    cost : np.ndarray, shape (n_iter + 1,), float64
        ``cost[i]`` is the objective after ``i`` iterations; ``cost[0]`` is the
        objective at the initialisation. Same units as :func:`beta_divergence`.
    n_iter : int
        Number of iterations actually run (smaller than requested when ``tol``
        stopped early).
    """

    W: np.ndarray
    H: np.ndarray
    cost: np.ndarray
    n_iter: int


# --------------------------------------------------------------------------- validation


def _as_real_matrix(name: str, x: npt.ArrayLike) -> np.ndarray:
    """Return ``x`` as a 2-D real array (no copy if possible), or raise ValueError."""
    arr = np.asarray(x)
    if arr.dtype.kind not in "iuf":
        raise ValueError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got {arr.ndim} dimension(s) with shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    if arr.min() < 0:
        raise ValueError(f"{name} contains negative values (min {arr.min()!r}); NMF needs non-negative input")
    return arr


def _check_V(V: npt.ArrayLike) -> np.ndarray:
    arr = _as_real_matrix("V", V)
    if not arr.any():
        raise ValueError("V is all zeros: there is nothing to factorise")
    return arr


def _check_factors(V: np.ndarray, W: npt.ArrayLike, H: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    W = _as_real_matrix("W_init", W)
    H = _as_real_matrix("H_init", H)
    K, N = V.shape
    if W.shape[0] != K:
        raise ValueError(f"W_init has shape {W.shape} but V has {K} frequency bins (rows)")
    if H.shape[1] != N:
        raise ValueError(f"H_init has shape {H.shape} but V has {N} frames (columns)")
    if H.shape[0] != W.shape[1]:
        raise ValueError(
            f"H_init has shape {H.shape} but W_init has shape {W.shape}: "
            f"H_init must have {W.shape[1]} rows, one per column of W_init"
        )
    return W, H


def _check_beta(beta: float) -> float:
    if isinstance(beta, bool) or not isinstance(beta, numbers.Real) or not 0 < beta <= 2:
        raise ValueError(
            f"beta must be a number in (0, 2] (2: Euclidean, 1: Kullback-Leibler, 0.5: common for "
            f"music), got {beta!r}"
        )
    return float(beta)


def _check_fixed_W(fixed_W: Union[bool, npt.ArrayLike], R: int) -> np.ndarray:
    """Return a boolean mask of length R: True where the template is frozen."""
    if isinstance(fixed_W, (bool, np.bool_)):
        return np.full(R, bool(fixed_W))
    mask = np.asarray(fixed_W)
    if mask.dtype != bool or mask.shape != (R,):
        raise ValueError(
            f"fixed_W must be True/False or a boolean mask of length R={R} over the columns of "
            f"W_init, got dtype {mask.dtype} and shape {mask.shape}"
        )
    return mask


def _check_compute_dtype(dtype: npt.DTypeLike) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError as err:
        raise ValueError(f"dtype must be np.float32 or np.float64, got {dtype!r}") from err
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype must be np.float32 or np.float64, got {dtype!r}")
    return dt


def _check_scalars(n_iter: int, tol: float, eps: float, callback: Optional[Callback]) -> None:
    if isinstance(n_iter, bool) or not isinstance(n_iter, numbers.Integral) or n_iter < 0:
        raise ValueError(f"n_iter must be an integer >= 0, got {n_iter!r}")
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not (0 <= tol < math.inf):
        raise ValueError(f"tol must be a finite number >= 0, got {tol!r}")
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not (0 < eps < math.inf):
        raise ValueError(f"eps must be a finite number > 0, got {eps!r}")
    if callback is not None and not callable(callback):
        raise ValueError(f"callback must be callable or None, got {type(callback).__name__}")


def _output_dtype(*arrays: np.ndarray) -> np.dtype:
    """float32 in → float32 out; anything else (float64, integers) → float64."""
    if np.result_type(*arrays) == np.float32:
        return np.dtype(np.float32)
    return np.dtype(np.float64)


# --------------------------------------------------------------------------- public helpers


def random_init(
    V: npt.ArrayLike, R: int, rng: Union[np.random.Generator, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Random non-negative initial factors, scaled like scikit-learn's ``init='random'``.

    Entries are ``sqrt(mean(V) / R) · |z|`` with ``z`` standard normal, so that
    ``W @ H`` has roughly the mean of ``V``.

    Parameters
    ----------
    V : array_like, shape (K, N)
        Non-negative spectrogram (K bins × N frames).
    R : int
        Number of components (templates), ``R >= 1``.
    rng : numpy.random.Generator or int
        Random generator, or an integer seed for :func:`numpy.random.default_rng`.
        There is deliberately no default: every random start is reproducible.

    Returns
    -------
    W : np.ndarray, shape (K, R)
    H : np.ndarray, shape (R, N)
        float32 if ``V`` is float32, float64 otherwise. ``W`` is drawn first.

    Examples
    --------
    >>> import numpy as np
    >>> V = np.ones((4, 6))
    >>> W, H = random_init(V, 2, rng=0)
    >>> W.shape, H.shape
    ((4, 2), (2, 6))
    >>> bool((W > 0).all() and (H > 0).all())
    True
    """
    V = _check_V(V)
    if isinstance(R, bool) or not isinstance(R, numbers.Integral) or R < 1:
        raise ValueError(f"R must be an integer >= 1, got {R!r}")
    if isinstance(rng, (bool, np.bool_)):
        raise ValueError(f"rng must be a numpy.random.Generator or an int seed, got {rng!r}")
    if isinstance(rng, numbers.Integral):
        rng = np.random.default_rng(int(rng))
    elif not isinstance(rng, np.random.Generator):
        raise ValueError(
            f"rng must be a numpy.random.Generator or an int seed, got {type(rng).__name__}"
        )
    dtype = _output_dtype(V)
    K, N = V.shape
    scale = math.sqrt(float(V.mean(dtype=np.float64)) / R)
    W = scale * np.abs(rng.standard_normal((K, R)))
    H = scale * np.abs(rng.standard_normal((R, N)))
    return W.astype(dtype, copy=False), H.astype(dtype, copy=False)


def beta_divergence(V: npt.ArrayLike, W: npt.ArrayLike, H: npt.ArrayLike, beta: float) -> float:
    """The NMF objective, computed from scratch in float64.

    Parameters
    ----------
    V : array_like, shape (K, N)
        Non-negative spectrogram.
    W : array_like, shape (K, R)
        Templates.
    H : array_like, shape (R, N)
        Activations.
    beta : float in (0, 2]
        2: ``½ ‖V − WH‖²_F`` (squared units of V). 1: generalised KL divergence
        ``Σ V log(V / WH) − V + WH`` in nats, with ``0 log 0 = 0``; it is
        ``inf`` where ``WH == 0 < V``. Otherwise
        ``Σ (V^β + (β − 1) (WH)^β − β V (WH)^(β−1)) / (β (β − 1))``
        (in units of V to the power β), ``inf`` for β < 1 where ``WH == 0 < V``.

    Returns
    -------
    float
        The objective that :func:`nmf` minimises (``nmf`` reports it in its
        ``cost``, up to floating-point error and its ``eps`` guard).

    Examples
    --------
    >>> import numpy as np
    >>> W = np.array([[1.0], [2.0]]); H = np.array([[1.0, 3.0]])
    >>> beta_divergence(W @ H, W, H, beta=2)
    0.0
    >>> beta_divergence(np.array([[2.0, 6.0], [2.0, 6.0]]), W, H, beta=2)
    5.0
    >>> beta_divergence(np.array([[4.0, 3.0], [2.0, 6.0]]), W, H, beta=0.5)  # entry (0, 0): (2 − 0.5 − 2) / −0.25
    2.0
    """
    V = _check_V(V)
    W, H = _check_factors(V, W, H)
    beta = _check_beta(beta)
    V = V.astype(np.float64, copy=False)
    WH = W.astype(np.float64) @ H.astype(np.float64)
    if beta == 2:
        return 0.5 * float(np.sum(np.square(V - WH)))
    pos = V > 0
    if beta <= 1 and np.any(WH[pos] == 0):
        return math.inf
    if beta == 1:
        return float(np.sum(V[pos] * np.log(V[pos] / WH[pos])) - V.sum() + WH.sum())
    # V (WH)^(β−1) is 0 where V is 0, also where WH is 0 too.
    cross = np.zeros_like(V)
    cross[pos] = V[pos] * WH[pos] ** (beta - 1)
    return float(np.sum(V**beta + (beta - 1) * WH**beta - beta * cross) / (beta * (beta - 1)))


# --------------------------------------------------------------------------- the solver


def nmf(
    V: npt.ArrayLike,
    W_init: npt.ArrayLike,
    H_init: npt.ArrayLike,
    *,
    n_iter: int = 200,
    beta: float = 2.0,
    fixed_W: Union[bool, npt.ArrayLike] = False,
    tol: float = 0.0,
    eps: float = _DEFAULT_EPS,
    callback: Optional[Callback] = None,
    dtype: npt.DTypeLike = np.float32,
) -> NMFResult:
    """Factorise ``V ≈ W H`` with Lee & Seung's multiplicative updates.

    Each iteration updates ``H`` first, then ``W`` (the columns of ``W`` that
    are not frozen by ``fixed_W``). See the module docstring for the update
    rules.

    Parameters
    ----------
    V : array_like, shape (K, N)
        Non-negative spectrogram: K frequency bins × N frames (e.g. ``|STFT|``).
        Must be finite and not all zero.
    W_init : array_like, shape (K, R)
        Initial templates, non-negative. Zero entries stay exactly zero (use
        this to impose e.g. harmonic combs).
    H_init : array_like, shape (R, N)
        Initial activations, non-negative. Zero entries stay exactly zero.
    n_iter : int, default 200
        Maximum number of iterations, ``>= 0``.
    beta : float in (0, 2], default 2
        The β-divergence minimised: 2, the Euclidean objective
        ``½ ‖V − WH‖²_F``; 1, the generalised Kullback–Leibler divergence; any
        other value in (0, 2), the β-divergence of :func:`beta_divergence`
        (e.g. 0.5, which weighs quiet partials more than KL does).
    fixed_W : bool or array_like of bool, shape (R,), default False
        ``True`` learns only ``H`` with ``W = W_init`` fixed (transcription
        with known templates); a boolean mask freezes the columns where it is
        True and learns the others. Frozen columns are returned bit-identical.
    tol : float, default 0
        If > 0, stop after iteration ``i`` once the relative decrease of the
        objective ``|cost[i-1] − cost[i]| / cost[0] < tol``, checked every
        iteration. (scikit-learn's rule is similar, but it compares the drop of
        ``sqrt(2 · cost)`` over ten iterations with its initial value, every ten
        iterations.) Parameter changes are never used.
    eps : float, default 1e-12
        Guard for the denominators: the Euclidean denominators are clipped at
        ``eps`` from below, and the other β use ``WH + eps`` for ``WH``
        (e.g. ``V / (WH + eps)`` for KL). Numerators and
        factors are never touched, so zeros stay zeros. The default is
        negligible for spectrograms at any usual scale; rescale ``V`` if its
        values are themselves near 1e-12.
    callback : callable, optional
        ``callback(i, W, H, cost)``, called after each iteration ``i``
        (1-based) with the objective ``cost`` (float) after it. ``W`` and ``H``
        are the solver's live buffers in the compute dtype: do not modify them,
        and copy them if you keep them (e.g. for an animation).
    dtype : {np.float32, np.float64}, default np.float32
        Precision of the arithmetic. By default the computation runs in float32
        (about twice as fast as float64) and the results are cast back to the
        input's dtype, so float64 input gives float64 output with float32
        accuracy (relative error ~1e-6). Pass ``dtype=np.float64`` for full
        precision.

    Returns
    -------
    NMFResult
        ``W`` (K × R) and ``H`` (R × N) in the input's dtype (float32 if
        ``V``, ``W_init`` and ``H_init`` are all float32, else float64), the
        objective history ``cost`` (float64, length ``n_iter + 1``, ``cost[0]``
        at the initialisation) and ``n_iter``, the number of iterations run.

    Raises
    ------
    ValueError
        If an input has the wrong shape, dtype or value (negative, NaN, inf,
        all-zero ``V``, ...); the message names the argument.

    Notes
    -----
    Inputs are never modified. Memory: besides the inputs, at most one
    compute-dtype copy of ``V`` (when ``V`` is not already in the compute
    dtype) and, for KL, two work buffers of ``V``'s size. The cost after each
    iteration is obtained without extra K × N products (see the module
    docstring); in float32 it carries a relative error of about 1e-6 times
    ``‖V‖² / cost`` (Euclidean), so compare costs with a tolerance.

    Entries that decay below the smallest normal number of the compute dtype
    (about 1.2e-38 in float32) are set to 0 after each update: subnormal
    numbers are slow on x86 CPUs, and the change to the objective is below
    1e-37. Zeros are still never made non-zero.

    References
    ----------
    D. D. Lee and H. S. Seung, "Algorithms for non-negative matrix
    factorization", NIPS 13, 2000.
    C. Févotte and J. Idier, "Algorithms for nonnegative matrix factorization
    with the β-divergence", Neural Computation 23(9), 2011.
    M. Müller, *Fundamentals of Music Processing*, 2nd ed., 2021, §8.3.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> V = rng.random((6, 2)) @ rng.random((2, 20))   # an exactly rank-2 "spectrogram"
    >>> W0, H0 = random_init(V, 2, rng)
    >>> res = nmf(V, W0, H0, n_iter=500, dtype=np.float64)
    >>> res.W.shape, res.H.shape, res.n_iter, len(res.cost)
    ((6, 2), (2, 20), 500, 501)
    >>> bool(res.cost[-1] < 1e-3 * res.cost[0])
    True

    Transcription: learn only the activations of known templates.

    >>> res = nmf(V, W0, H0, n_iter=50, fixed_W=True)
    >>> bool(np.array_equal(res.W, W0))
    True
    """
    V_in = _check_V(V)
    W_in, H_in = _check_factors(V_in, W_init, H_init)
    beta = _check_beta(beta)
    R = W_in.shape[1]
    frozen = _check_fixed_W(fixed_W, R)
    _check_scalars(n_iter, tol, eps, callback)
    compute = _check_compute_dtype(dtype)
    out_dtype = _output_dtype(V_in, W_in, H_in)

    # Private, C-contiguous working copies: the caller's arrays are never written.
    Vc = np.ascontiguousarray(V_in, dtype=compute)
    W = np.array(W_in, dtype=compute, order="C", copy=True)
    H = np.array(H_in, dtype=compute, order="C", copy=True)
    eps_c = compute.type(eps)

    if beta == 2:
        costs, done = _euclidean(Vc, W, H, frozen, int(n_iter), float(tol), eps_c, callback)
    elif beta == 1:
        costs, done = _kullback_leibler(Vc, W, H, frozen, int(n_iter), float(tol), eps_c, callback)
    else:
        costs, done = _general_beta(Vc, W, H, frozen, int(n_iter), float(tol), eps_c, callback, beta)
    W_out = W.astype(out_dtype, copy=False)
    if frozen.any():
        # The compute dtype may be narrower than the input's: restore frozen
        # templates from the caller's values so that they come back bit-identical.
        W_out[:, frozen] = W_in[:, frozen]
    return NMFResult(
        W=W_out,
        H=H.astype(out_dtype, copy=False),
        cost=np.asarray(costs, dtype=np.float64),
        n_iter=done,
    )


def _converged(costs: list[float], tol: float) -> bool:
    """Relative decrease of the objective below ``tol`` (relative to ``cost[0]``)."""
    if tol <= 0:
        return False
    if costs[0] == 0:
        return True
    return abs(costs[-2] - costs[-1]) / costs[0] < tol


def _inner(a: np.ndarray, b: np.ndarray) -> float:
    """Frobenius inner product ⟨a, b⟩ of two 1-D or 2-D arrays, totalled in float64.

    Row sums stay in the arrays' dtype and only their total is float64: converting an R × N
    array to float64 first costs more than the iteration's own R × R × N product.
    """
    if a.ndim == 1:
        return float(np.dot(a.astype(np.float64), b.astype(np.float64)))
    return _sum_of_products(a, b)


def _mu_step(X: np.ndarray, numerator: np.ndarray, denominator: np.ndarray, eps: np.floating,
             gamma: float = 1.0) -> None:
    """In place: ``X ← X ∘ (numerator / max(denominator, eps))^gamma``; clobbers ``denominator``."""
    np.maximum(denominator, eps, out=denominator)
    np.divide(numerator, denominator, out=denominator)
    if gamma != 1.0:
        np.power(denominator, gamma, out=denominator)
    X *= denominator
    _flush_subnormals(X)


def _flush_subnormals(X: np.ndarray) -> None:
    """Set entries below the dtype's smallest normal number to exactly 0, in place.

    Multiplicative updates drive unused entries towards 0 geometrically; in float32 they reach
    subnormal numbers (down to 1e-45) after a few hundred iterations, and arithmetic on
    subnormals is slow on x86 CPUs. Zeroing them changes the objective by less than 1e-37.
    """
    np.copyto(X, 0, where=X < np.finfo(X.dtype).tiny)


def _euclidean(
    V: np.ndarray,
    W: np.ndarray,
    H: np.ndarray,
    frozen: np.ndarray,
    n_iter: int,
    tol: float,
    eps: np.floating,
    callback: Optional[Callback],
) -> tuple[list[float], int]:
    """MU for ½‖V − WH‖², updating W and H in place; returns (costs, iterations run)."""
    half_V2 = 0.5 * float(np.einsum("ij,ij->", V, V, dtype=np.float64))
    WtV = W.T @ V  # R × N
    WtW = W.T @ W  # R × R
    den_H = np.empty_like(H)

    if frozen.all():
        # Transcription: W, WᵀV and WᵀW are constant. The cost of H is
        # ½‖V‖² − ⟨H, WᵀV⟩ + ½⟨H, WᵀW H⟩, and WᵀW H is the next update's denominator.
        def cost_of_H() -> float:
            np.matmul(WtW, H, out=den_H)
            return max(half_V2 - _inner(H, WtV) + 0.5 * _inner(H, den_H), 0.0)

        def h_step() -> float:
            _mu_step(H, WtV, den_H, eps)
            return cost_of_H()

        costs = [cost_of_H()]
        return costs, _iterate(h_step, costs, n_iter, tol, callback, W, H)

    learn_all = not frozen.any()
    HHt = H @ H.T  # R × R
    VHt = np.empty_like(W)  # K × R
    den_W = np.empty_like(W)
    WtV_current = True  # WᵀV is recomputed lazily: none is needed after the last iteration

    def iteration() -> float:
        nonlocal WtV_current
        if not WtV_current:
            np.matmul(W.T, V, out=WtV)
        np.matmul(WtW, H, out=den_H)
        _mu_step(H, WtV, den_H, eps)

        np.matmul(H, H.T, out=HHt)
        np.matmul(V, H.T, out=VHt)
        np.matmul(W, HHt, out=den_W)
        np.maximum(den_W, eps, out=den_W)
        np.divide(VHt, den_W, out=den_W)
        if not learn_all:
            den_W[:, frozen] = 1  # multiplying by exactly 1 keeps frozen columns bit-identical
        np.multiply(W, den_W, out=W)
        _flush_subnormals(W)
        WtV_current = False

        # ‖V − WH‖² = ‖V‖² − 2⟨W, VHᵀ⟩ + ⟨WᵀW, HHᵀ⟩ with the new W and H; WᵀW is
        # needed by the next H update anyway. Clipped at 0 against cancellation.
        np.matmul(W.T, W, out=WtW)
        return max(half_V2 - _inner(W, VHt) + 0.5 * _inner(WtW, HHt), 0.0)

    costs = [max(half_V2 - _inner(H, WtV) + 0.5 * _inner(WtW, HHt), 0.0)]
    return costs, _iterate(iteration, costs, n_iter, tol, callback, W, H)


def _kullback_leibler(
    V: np.ndarray,
    W: np.ndarray,
    H: np.ndarray,
    frozen: np.ndarray,
    n_iter: int,
    tol: float,
    eps: np.floating,
    callback: Optional[Callback],
) -> tuple[list[float], int]:
    """MU for the generalised KL divergence, in place; returns (costs, iterations run)."""
    K, N = V.shape
    W_aug, H_aug, Wv, Hv = _with_guard(W, H, eps)

    ratio = np.empty_like(V)  # V / (WH + eps)
    log_WH = np.empty_like(V)  # log2(WH + eps)
    # Constant part of the objective, Σ V ln V − Σ V (0 ln 0 = 0).
    np.log(V, out=log_WH, where=V > 0)
    log_WH[V == 0] = 0
    const = _sum_of_products(V, log_WH) - float(V.sum(dtype=np.float64))
    guard_total = float(eps) * K * N  # Σ eps over all entries of WH + eps

    def ratio_and_cost() -> float:
        """Fill ``ratio`` with V / (WH + eps) for the current W, H; return the objective."""
        np.matmul(W_aug, H_aug, out=ratio)
        np.log2(ratio, out=log_WH)
        # Σ (WH + eps) = Σ_r (Σ_k W_kr)(Σ_n H_rn) + eps·K·N: no K×N sum needed.
        sum_WH = _inner(Wv.sum(axis=0), Hv.sum(axis=1)) + guard_total
        cost = const - _LN2 * _sum_of_products(V, log_WH) + sum_WH
        np.divide(V, ratio, out=ratio)
        return max(cost, 0.0)

    learn_W = not frozen.all()
    learn_all = not frozen.any()
    num_H = np.empty_like(H)
    num_W = np.empty_like(W)
    W_colsum = np.maximum(Wv.sum(axis=0), eps)[:, None]  # R × 1, constant while W is fixed

    def iteration() -> float:
        nonlocal W_colsum
        # H ← H ∘ Wᵀ(V / WH) / (Wᵀ1): ``ratio`` holds V / WH for the current W, H.
        np.matmul(Wv.T, ratio, out=num_H)
        np.divide(num_H, W_colsum, out=num_H)
        np.multiply(Hv, num_H, out=Hv)
        _flush_subnormals(Hv)

        if learn_W:
            np.matmul(W_aug, H_aug, out=ratio)
            np.divide(V, ratio, out=ratio)
            np.matmul(ratio, Hv.T, out=num_W)
            np.divide(num_W, np.maximum(Hv.sum(axis=1), eps)[None, :], out=num_W)
            if not learn_all:
                num_W[:, frozen] = 1  # exact: frozen columns stay bit-identical
            np.multiply(Wv, num_W, out=Wv)
            _flush_subnormals(Wv)
            W_colsum = np.maximum(Wv.sum(axis=0), eps)[:, None]
        # The ratio for the next H update also yields the cost of this iterate.
        return ratio_and_cost()

    costs = [ratio_and_cost()]
    done = _iterate(iteration, costs, n_iter, tol, callback, Wv, Hv)
    W[...] = Wv
    H[...] = Hv
    return costs, done


def _with_guard(W: np.ndarray, H: np.ndarray, eps: np.floating) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(W_aug, H_aug, W_view, H_view)`` with ``W_aug = [W | eps]`` and ``H_aug = [H ; 1]``.

    The guard ``WH + eps`` then comes free out of the product ``W_aug @ H_aug``; the solvers
    update ``W_view`` and ``H_view``, views into the augmented arrays.
    """
    (K, R), N = W.shape, H.shape[1]
    W_aug = np.empty((K, R + 1), dtype=W.dtype)
    H_aug = np.empty((R + 1, N), dtype=H.dtype)
    W_aug[:, :R], W_aug[:, R] = W, eps
    H_aug[:R], H_aug[R] = H, 1
    return W_aug, H_aug, W_aug[:, :R], H_aug[:R]


def _iterate(iteration: Callable[[], float], costs: list[float], n_iter: int, tol: float,
             callback: Optional[Callback], W: np.ndarray, H: np.ndarray) -> int:
    """Run ``iteration`` (one update of the factors; returns the new objective) up to
    ``n_iter`` times, appending to ``costs``; returns the number of iterations run."""
    for i in range(1, n_iter + 1):
        costs.append(iteration())
        if callback is not None:
            callback(i, W, H, costs[-1])
        if _converged(costs, tol):
            return i
    return n_iter


def _general_beta(
    V: np.ndarray,
    W: np.ndarray,
    H: np.ndarray,
    frozen: np.ndarray,
    n_iter: int,
    tol: float,
    eps: np.floating,
    callback: Optional[Callback],
    beta: float,
) -> tuple[list[float], int]:
    """MU for a β-divergence, 0 < β < 2 and β ≠ 1 (Févotte & Idier 2011), in place.

    Returns (costs, iterations run). ``WH + eps`` stands for ``WH`` throughout
    (:func:`_with_guard`).
    """
    K, N = V.shape
    R = W.shape[1]
    W_aug, H_aug, Wv, Hv = _with_guard(W, H, eps)
    gamma = 1.0 / (2.0 - beta) if beta < 1 else 1.0  # the MM exponent: each step is monotone

    WH = np.empty_like(V)
    PQ = np.empty((K, 2 * N), dtype=V.dtype)  # [P | Q]: Wᵀ[P | Q] is one product
    P, Q = PQ[:, :N], PQ[:, N:]
    # Σ V^β is the constant part of β (β − 1) · objective.
    sum_V_beta = float(np.sum(np.power(V, beta, dtype=np.float64)))
    scale = 1.0 / (beta * (beta - 1.0))

    def fill_P_Q() -> float:
        """P = V ∘ (WH)^(β−2), Q = (WH)^(β−1) for the current W, H; return the objective."""
        np.matmul(W_aug, H_aug, out=WH)
        _power(WH, beta - 1.0, out=Q)
        # Σ (WH)^β = ⟨WH, Q⟩ and Σ V (WH)^(β−1) = ⟨V, Q⟩.
        cost = scale * (sum_V_beta + (beta - 1.0) * _sum_of_products(WH, Q) - beta * _sum_of_products(V, Q))
        np.divide(Q, WH, out=P)
        np.multiply(P, V, out=P)
        return max(cost, 0.0)

    learn_W = not frozen.all()
    learn_all = not frozen.any()
    products_H = np.empty((R, 2 * N), dtype=H.dtype)  # [WᵀP | WᵀQ]
    num_W, den_W = np.empty_like(W), np.empty_like(W)

    def iteration() -> float:
        np.matmul(Wv.T, PQ, out=products_H)
        _mu_step(Hv, products_H[:, :N], products_H[:, N:], eps, gamma)
        if learn_W:
            fill_P_Q()
            np.matmul(P, Hv.T, out=num_W)
            np.matmul(Q, Hv.T, out=den_W)
            if not learn_all:
                num_W[:, frozen] = den_W[:, frozen] = 1  # exact: frozen columns stay bit-identical
            _mu_step(Wv, num_W, den_W, eps, gamma)
        return fill_P_Q()

    costs = [fill_P_Q()]
    done = _iterate(iteration, costs, n_iter, tol, callback, Wv, Hv)
    W[...] = Wv
    H[...] = Hv
    return costs, done


def _power(X: np.ndarray, exponent: float, out: np.ndarray) -> None:
    """``out = X ** exponent``; for β = 0.5 (exponent −0.5) through a square root, which is
    about twice as fast as ``np.power`` with a fractional exponent."""
    if exponent == -0.5:
        np.sqrt(X, out=out)
        np.reciprocal(out, out=out)
    else:
        np.power(X, exponent, out=out)


def _sum_of_products(a: np.ndarray, b: np.ndarray) -> float:
    """Σ a ∘ b for K × N arrays: row sums in the array's dtype, their total in float64.

    Accurate to ~1e-7 relative in float32 (a plain float32 dot product drifts by ~1e-5 on
    a spectrogram-sized sum), and no K × N temporary.
    """
    return float(np.einsum("ij,ij->i", a, b).sum(dtype=np.float64))
