"""NMF speed: :func:`amt_helpers.nmf.nmf` against scikit-learn's and libfmp's multiplicative updates.

Usage::

    python benchmarks/bench_nmf.py              # ~2-3 minutes on 2 cores
    python benchmarks/bench_nmf.py --repeats 5  # more repeats on a noisy machine
    python benchmarks/bench_nmf.py --threads 1  # one BLAS thread (steadier when overloaded)

Every method factorises the same V, |STFT| (n_fft 2048, hop 512, Hann) of 60 s of piano
(the ``bach_prelude`` example looped; other fallbacks are named in the printout), from the
same random initialisation (R = 88, seed 0), for 200 iterations. Times are the best of
``--repeats`` runs, interleaved so that load from other processes hits every method alike;
compare the ratios, which are measured in the same run, rather than absolute seconds.

The "GEMM floor" is the time of the large matrix products an iteration cannot avoid (two
K×R×N products for Euclidean, four for KL, six for β = 0.5, one R×R×N for Euclidean with
fixed W, two K×R×N for KL and three for β = 0.5 with fixed W), measured with ``np.dot`` on this machine in the method's precision;
"% floor" is floor / measured time (100 % would be pure BLAS time).

The objectives are all recomputed from scratch in float64 with
:func:`amt_helpers.nmf.beta_divergence` on each method's returned factors.
"""

from __future__ import annotations

import argparse
import datetime
import glob
import os
import platform
import statistics
import sys
import time
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from amt_helpers.nmf import beta_divergence, nmf, random_init  # noqa: E402

SR = 22050
N_FFT, HOP = 2048, 512
SECONDS = 60.0
R = 88
N_ITER = 200


# --------------------------------------------------------------------------- the input


def _piano_audio() -> tuple[np.ndarray, str]:
    """Mono piano-like audio at SR and a description of where it came from."""
    try:
        from amt_helpers.data import load_example

        x, sr, _ = load_example("bach_prelude")
        if sr == SR:
            return np.asarray(x, dtype=np.float64), "the bach_prelude example (FluidR3 piano), looped"
    except Exception:  # noqa: BLE001 - any failure: fall back to what exists
        pass
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data")
    files = sorted(glob.glob(os.path.join(here, "*.flac")))
    if files:
        import librosa

        parts = [librosa.load(f, sr=SR, mono=True)[0] for f in files]
        names = ", ".join(os.path.basename(f) for f in files)
        return np.concatenate(parts).astype(np.float64), f"data/*.flac concatenated ({names}), looped"
    return _synthetic_piano(), "synthetic decaying-harmonic piano-like notes (seed 0)"


def _synthetic_piano(seconds: float = 20.0, seed: int = 0) -> np.ndarray:
    """Random notes with 10 exponentially decaying harmonics each (no files needed)."""
    rng = np.random.default_rng(seed)
    x = np.zeros(int(seconds * SR))
    t = np.arange(int(2.0 * SR)) / SR
    for onset in np.arange(0, seconds - 2.0, 0.25):
        f0 = 440.0 * 2 ** ((rng.integers(40, 80) - 69) / 12)
        h = np.arange(1, 11)[:, None]
        note = (np.exp(-t * (1.5 + 0.5 * h)) * np.sin(2 * np.pi * f0 * h * t) / h).sum(0)
        start = int(onset * SR)
        x[start : start + t.size] += 0.1 * note
    return x


def spectrogram() -> tuple[np.ndarray, str]:
    import librosa

    x, origin = _piano_audio()
    reps = int(np.ceil(SECONDS * SR / x.size))
    x = np.tile(x, reps)[: int(SECONDS * SR)]
    V = np.abs(librosa.stft(x, n_fft=N_FFT, hop_length=HOP, window="hann"))
    return V.astype(np.float64), origin


# --------------------------------------------------------------------------- the methods


@dataclass
class Case:
    name: str
    beta: float
    precision: str  # dtype of the arithmetic, for the GEMM floor
    floor_products: str  # "big" (K×R×N) or "small" (R×R×N)
    n_products: int
    run: Callable[[], tuple[np.ndarray, np.ndarray]]  # returns (W, H) in audio orientation
    times: list[float]
    W: np.ndarray | None = None
    H: np.ndarray | None = None


def ours(V, W0, H0, dtype_in, **kw):
    V, W0, H0 = (a.astype(dtype_in) for a in (V, W0, H0))

    def run():
        res = nmf(V, W0, H0, n_iter=N_ITER, **kw)
        return res.W, res.H

    return run


def sklearn_mu(V, W0, H0, dtype, loss):
    from sklearn.decomposition import NMF

    # sklearn factorises X ≈ W H with X = Vᵀ: its W is our Hᵀ and its H is our Wᵀ.
    X = np.ascontiguousarray(V.T, dtype=dtype)
    W_sk, H_sk = np.ascontiguousarray(H0.T, dtype=dtype), np.ascontiguousarray(W0.T, dtype=dtype)

    def run():
        model = NMF(n_components=R, solver="mu", init="custom", tol=0, max_iter=N_ITER, beta_loss=loss)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            Ht = model.fit_transform(X, W=W_sk.copy(), H=H_sk.copy())
        return model.components_.T, Ht.T

    return run


def libfmp_nmf(V, W0, H0):
    import libfmp.c8

    def run():
        # thresh=0: never stop on parameter change, run all L iterations (float64 inside).
        W, H, *_ = libfmp.c8.nmf(V, R, thresh=0.0, L=N_ITER, W=W0.copy(), H=H0.copy())
        return W, H

    return run


def gemm_seconds(K: int, N: int, dtype, small: bool) -> float:
    """Best time of one dominant product: (R×K)@(K×N), or (R×R)@(R×N) if small."""
    rng = np.random.default_rng(1)
    A = rng.random((R, R if small else K)).astype(dtype)
    B = rng.random((R if small else K, N)).astype(dtype)
    best = np.inf
    for _ in range(10):
        t0 = time.perf_counter()
        np.dot(A, B)
        best = min(best, time.perf_counter() - t0)
    return best


def blas_description() -> str:
    try:
        from threadpoolctl import threadpool_info

        infos = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        if infos:
            i = infos[0]
            return f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')}, {i.get('num_threads')} threads)"
    except ImportError:
        pass
    return "unknown (threadpoolctl not installed)"


def _load() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per method (best is reported)")
    parser.add_argument("--no-libfmp", action="store_true", help="skip libfmp (slow)")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="limit BLAS to this many threads (threadpoolctl); default: BLAS's own choice. "
        "On an overloaded machine 1 thread gives steadier numbers.",
    )
    args = parser.parse_args(argv)
    if args.threads is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=args.threads, user_api="blas")

    V, origin = spectrogram()
    cases = build_cases(V, with_libfmp=not args.no_libfmp)
    print_setup(V, origin, args.repeats)
    time_cases(cases, args.repeats)
    per100 = {c.name: min(c.times) / N_ITER * 100 for c in cases}
    objective = {c.name: beta_divergence(V, c.W, c.H, c.beta) for c in cases}
    print_table(cases, per100, objective, *V.shape)
    return 0 if check_targets(per100, objective) else 1


def build_cases(V: np.ndarray, *, with_libfmp: bool) -> list[Case]:
    """Every method on the same V from the same random start."""
    W0, H0 = random_init(V, R, rng=0)
    f32, f64 = np.float32, np.float64
    cases = [
        Case("ours Euclid f32", 2, "float32", "big", 2, ours(V, W0, H0, f32, beta=2), []),
        Case("sklearn Euclid f32", 2, "float32", "big", 2, sklearn_mu(V, W0, H0, f32, "frobenius"), []),
        Case("ours Euclid f64 in (f32 compute)", 2, "float32", "big", 2, ours(V, W0, H0, f64, beta=2), []),
        Case("ours Euclid f64 (dtype=f64)", 2, "float64", "big", 2, ours(V, W0, H0, f64, beta=2, dtype=f64), []),
        Case("sklearn Euclid f64", 2, "float64", "big", 2, sklearn_mu(V, W0, H0, f64, "frobenius"), []),
        Case("ours KL f32", 1, "float32", "big", 4, ours(V, W0, H0, f32, beta=1), []),
        Case("sklearn KL f32", 1, "float32", "big", 4, sklearn_mu(V, W0, H0, f32, "kullback-leibler"), []),
        Case("ours KL f64 in (f32 compute)", 1, "float32", "big", 4, ours(V, W0, H0, f64, beta=1), []),
        Case("sklearn KL f64", 1, "float64", "big", 4, sklearn_mu(V, W0, H0, f64, "kullback-leibler"), []),
        # General β: WH, Wᵀ[P | Q] (two products' worth) for H, and WH, PHᵀ, QHᵀ for W.
        Case("ours beta=0.5 f32", 0.5, "float32", "big", 6, ours(V, W0, H0, f32, beta=0.5), []),
        Case("sklearn beta=0.5 f32", 0.5, "float32", "big", 6, sklearn_mu(V, W0, H0, f32, 0.5), []),
        Case("sklearn beta=0.5 f64", 0.5, "float64", "big", 6, sklearn_mu(V, W0, H0, f64, 0.5), []),
        Case("ours Euclid f32 fixed_W", 2, "float32", "small", 1, ours(V, W0, H0, f32, beta=2, fixed_W=True), []),
        Case("ours KL f32 fixed_W", 1, "float32", "big", 2, ours(V, W0, H0, f32, beta=1, fixed_W=True), []),
        Case("ours beta=0.5 f32 fixed_W", 0.5, "float32", "big", 3, ours(V, W0, H0, f32, beta=0.5, fixed_W=True), []),
    ]
    if with_libfmp:
        try:
            import libfmp.c8  # noqa: F401

            cases.append(Case("libfmp c8.nmf Euclid f64", 2, "float64", "big", 2, libfmp_nmf(V, W0, H0), []))
        except Exception as err:  # noqa: BLE001
            print(f"libfmp skipped: {type(err).__name__}: {err}")
    return cases


def print_setup(V: np.ndarray, origin: str, repeats: int) -> None:
    import sklearn

    K, N = V.shape
    print(f"NMF benchmark, {datetime.date.today().isoformat()}")
    print(f"V: |STFT| of {SECONDS:.0f} s of {origin}; n_fft {N_FFT}, hop {HOP}, Hann; K={K} bins x N={N} frames")
    print(f"R={R}, {N_ITER} iterations, init random_init(V, {R}, rng=0); best of {repeats} interleaved runs")
    print(f"CPU: {cpu_model()}, {os.cpu_count()} logical cores, load average {_load()}; BLAS: {blas_description()}")
    print(
        f"Python {platform.python_version()}, numpy {np.__version__}, scikit-learn {sklearn.__version__}; "
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}"
    )
    print()


def time_cases(cases: list[Case], repeats: int) -> None:
    """Run every case ``repeats`` times, interleaved, keeping each run's time and the last factors."""
    for rep in range(repeats):
        for case in cases:
            if case.name.startswith("libfmp") and rep > 0:
                continue  # one run is enough: it is an order of magnitude slower
            t0 = time.perf_counter()
            case.W, case.H = case.run()
            case.times.append(time.perf_counter() - t0)
            print(f"  run {rep + 1}/{repeats} {case.name}: {case.times[-1]:.2f} s", file=sys.stderr)


def print_table(cases: list[Case], per100: dict, objective: dict, K: int, N: int) -> None:
    """The GEMM floors, then one row per method: time per 100 iterations, ratios, objective, % of the floor."""
    floors = {
        (p, s): gemm_seconds(K, N, getattr(np, p), s == "small")
        for p in ("float32", "float64")
        for s in ("big", "small")
    }
    print(
        f"one (R x K)@(K x N) product: float32 {floors['float32', 'big'] * 1e3:.2f} ms, "
        f"float64 {floors['float64', 'big'] * 1e3:.2f} ms; "
        f"(R x R)@(R x N): float32 {floors['float32', 'small'] * 1e3:.2f} ms"
    )
    print()
    ref = {2: "sklearn Euclid f32", 1: "sklearn KL f32", 0.5: "sklearn beta=0.5 f32"}
    ref64 = {2: "sklearn Euclid f64", 1: "sklearn KL f64", 0.5: "sklearn beta=0.5 f64"}
    header = f"| {'method':34s} | s/100 it | median | x sklearn f32 | x sklearn f64 | final objective | % GEMM floor |"
    print(header)
    print("|" + "|".join("-" * (len(col)) for col in header.split("|")[1:-1]) + "|")
    for c in cases:
        sk64 = ref64[c.beta]
        floor_per_iter = c.n_products * floors[c.precision, c.floor_products]
        pct = 100 * floor_per_iter / (min(c.times) / N_ITER)
        print(
            f"| {c.name:34s} | {per100[c.name]:8.3f} | {statistics.median(c.times) / N_ITER * 100:6.3f} "
            f"| {per100[ref[c.beta]] / per100[c.name]:13.2f} | {per100[sk64] / per100[c.name]:13.2f} "
            f"| {objective[c.name]:15.6g} | {pct:11.0f}% |"
        )
    print()


def check_targets(per100: dict, objective: dict) -> bool:
    """Print PASS/FAIL for each speed target of the project; True if all pass."""

    def check(label: str, ok: bool, detail: str) -> bool:
        print(f"{'PASS' if ok else 'FAIL'}  {label}: {detail}")
        return ok

    e32 = per100["sklearn Euclid f32"] / per100["ours Euclid f32"]
    obj_gap = abs(objective["ours Euclid f32"] / objective["sklearn Euclid f32"] - 1)
    e64 = per100["sklearn Euclid f64"] / per100["ours Euclid f64 in (f32 compute)"]
    kl32 = per100["sklearn KL f32"] / per100["ours KL f32"]
    fixed_e = per100["ours Euclid f32"] / per100["ours Euclid f32 fixed_W"]
    fixed_kl = per100["ours KL f32"] / per100["ours KL f32 fixed_W"]
    results = [
        check(
            "Euclidean float32 >= 1.05x sklearn float32, objective within 1 %",
            e32 >= 1.05 and obj_gap <= 0.01,
            f"{e32:.2f}x, objective differs by {100 * obj_gap:.4f} %",
        ),
        check("Euclidean float64 input (default float32 compute) >= 2x sklearn float64", e64 >= 2, f"{e64:.2f}x"),
        check("KL float32 >= 1.8x sklearn KL float32", kl32 >= 1.8, f"{kl32:.2f}x"),
        check("fixed_W >= 5x faster per iteration than the full update (Euclidean)", fixed_e >= 5, f"{fixed_e:.1f}x"),
    ]
    beta32 = per100["sklearn beta=0.5 f32"] / per100["ours beta=0.5 f32"]
    fixed_beta = per100["ours beta=0.5 f32"] / per100["ours beta=0.5 f32 fixed_W"]
    print(f"info  fixed_W speed-up per iteration, KL: {fixed_kl:.1f}x; beta=0.5: {fixed_beta:.1f}x")
    print(f"info  beta=0.5 float32 against sklearn beta=0.5 float32: {beta32:.2f}x")
    return all(results)


if __name__ == "__main__":
    sys.exit(main())
