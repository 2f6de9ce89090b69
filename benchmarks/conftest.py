"""Prints samples/second and the fastbp / baseline ratio measured in this run."""
import collections

RESULTS = collections.OrderedDict()


def record(benchmark, group, impl, n_examples):
    """Attach per-example figures to a finished pytest-benchmark run and remember them."""
    best = benchmark.stats.stats.min
    benchmark.extra_info.update(n_examples=n_examples, us_per_example=best / n_examples * 1e6,
                                samples_per_second=n_examples / best)
    RESULTS.setdefault(group, {})[impl] = best / n_examples


def pytest_terminal_summary(terminalreporter):
    if not RESULTS:
        return
    tr = terminalreporter
    tr.section("fastbp vs NumPy baseline (best round, one epoch)")
    tr.write_line(f"{'case':<34}{'fastbp us/ex':>14}{'baseline us/ex':>16}{'fastbp samples/s':>18}"
                  f"{'speed-up':>10}")
    for group, impls in RESULTS.items():
        f, b = impls.get("fastbp"), impls.get("baseline")
        fs = f"{f * 1e6:14.3f}" if f else f"{'-':>14}"
        bs = f"{b * 1e6:16.3f}" if b else f"{'-':>16}"
        sps = f"{1 / f:18,.0f}" if f else f"{'-':>18}"
        ratio = f"{b / f:9.1f}x" if f and b else f"{'-':>10}"
        tr.write_line(f"{group:<34}{fs}{bs}{sps}{ratio}")
