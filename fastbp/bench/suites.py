"""One run of every implementation on a case: times, agreement with fastbp, the table."""
import math
import time
from dataclasses import dataclass, field

import numpy as np

from .cases import CASES, N_CHECK, make_data, make_network
from .floor import flops_per_example, gemm_rates, sweep_seconds
from .peers import IMPLS, ONLINE, SLOW, FastbpImpl


@dataclass
class Result:
    case: str
    dtype: str
    batch_size: int
    impl: str
    us_per_example: float = math.nan
    samples_per_second: float = math.nan
    max_abs_diff: float = math.nan  # parameters after N_CHECK rows vs fastbp's
    note: str = ""
    extra: dict = field(default_factory=dict)


def time_run(run, theta0, n_rows, repeat):
    run(theta0)  # warm-up: compilation, caches
    best = math.inf
    for i in range(repeat):
        t0 = time.perf_counter()
        run(theta0)
        best = min(best, time.perf_counter() - t0)
    return best / n_rows


def measure(case_name, dtype="float64", batch_size=1, impls=None, repeat=5, quick=False):
    """Results for every implementation on one case; fastbp first."""
    case = CASES[case_name]
    impls = impls or IMPLS
    n_fast = case.n // (10 if quick else 1)
    n_slow = max(case.n_slow // (5 if quick else 1), 2 * batch_size)
    n_fast = max(n_fast // max(batch_size, 1) * max(batch_size, 1), batch_size)
    n_slow = n_slow // batch_size * batch_size
    net = make_network(case, dtype)
    theta0 = net.theta.copy()
    X, Y, order = make_data(case, dtype, n_fast)
    n_check = N_CHECK if batch_size == 1 else N_CHECK // batch_size * batch_size or batch_size
    check_order = order[:n_check]
    ref = FastbpImpl().prepare(case, net, X, Y, check_order, batch_size)(theta0).copy()
    results = []
    for impl in impls:
        res = Result(case_name, dtype, batch_size, impl.name)
        ok, why = impl.available()
        if not ok:
            res.note = why
            results.append(res)
            continue
        n = n_slow if impl.name in SLOW else n_fast
        if impl.name in ONLINE:
            n = max(n // 10 // batch_size * batch_size, 2 * batch_size)
        try:
            if getattr(impl, "checked", True):
                got = impl.prepare(case, net, X, Y, check_order, batch_size)(theta0)
                res.max_abs_diff = float(np.abs(np.asarray(got, dtype=np.float64) - ref).max())
            else:
                res.note = "not checked"
            run = impl.prepare(case, net, X, Y, order[:n], batch_size)
            rep = repeat if impl.name not in SLOW else max(1, repeat // 2)
            per = time_run(run, theta0, n, rep)
        except NotImplementedError as exc:  # this case is outside what the peer can do
            res.note = str(exc)
            results.append(res)
            continue
        except Exception as exc:  # a peer failing must not hide the others' figures
            res.note = f"failed: {type(exc).__name__}: {exc}"[:200]
            results.append(res)
            continue
        res.us_per_example = per * 1e6
        res.samples_per_second = 1.0 / per
        res.extra["rows"] = n
        results.append(res)
    floor_us = sweep_seconds(net.n_params, case.sizes[0], net.dtype,
                             min_time=0.01 if quick else 0.05) * 1e6
    peak = max(gemm_rates_once(net.dtype.name).values()) if batch_size > 1 else math.nan
    for r in results:
        r.extra["floor_us"] = floor_us
        r.extra["gemm_peak_flops"] = peak
        r.extra["flops_per_example"] = flops_per_example(case.sizes)
    return results


_RATES = {}


def gemm_rates_once(dtype):
    """``floor.gemm_rates`` of ``dtype``, measured once per process."""
    if dtype not in _RATES:
        _RATES[dtype] = gemm_rates(np.dtype(dtype))
    return _RATES[dtype]


def agreement_tolerance(dtype):
    """Largest |theta_peer - theta_fastbp| accepted after N_CHECK steps."""
    return 1e-9 if dtype == "float64" else 1e-4


def format_table(results):
    """A Markdown table of results (one block per case/dtype/batch size)."""
    lines = ["| case | dtype | batch | implementation | µs/example | samples/s | time vs fastbp "
             "| time / floor | % of GEMM peak | max abs param diff vs fastbp |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    fast = {(r.case, r.dtype, r.batch_size): r for r in results if r.impl == "fastbp"}
    for r in results:
        f = fast.get((r.case, r.dtype, r.batch_size))
        sizes = "-".join(str(s) for s in CASES[r.case].sizes)
        if math.isnan(r.us_per_example):
            lines.append(f"| {r.case} {sizes} | {r.dtype} | {r.batch_size} | {r.impl} | - | - | - "
                         f"| - | - | {r.note} |")
            continue
        ratio = r.us_per_example / f.us_per_example if f else math.nan
        floor = (f"{r.us_per_example / r.extra.get('floor_us', math.nan):.2f}"
                 if r.batch_size == 1 else "-")  # per-example floor: batch 1 only
        rate = r.extra.get("flops_per_example", math.nan) / (r.us_per_example * 1e-6)
        share = rate / r.extra.get("gemm_peak_flops", math.nan) * 100
        share = "-" if math.isnan(share) else f"{share:.0f}%"
        if r.impl == "fastbp":
            diff = "reference"
        elif r.note:
            diff = r.note
        else:
            diff = f"{r.max_abs_diff:.1e}"
            if not r.max_abs_diff <= agreement_tolerance(r.dtype):
                diff += " (DISAGREES)"
        lines.append(f"| {r.case} {sizes} | {r.dtype} | {r.batch_size} | {r.impl} "
                     f"| {r.us_per_example:.3f} | {r.samples_per_second:,.0f} | {ratio:.2f}x "
                     f"| {floor} | {share} | {diff} |")
    return "\n".join(lines)
