"""Prints samples/second and the fastbp / baseline ratio measured in this run."""
import collections

RESULTS = collections.OrderedDict()


def record(benchmark, group, impl, n_examples):
    """Attach per-example figures to a finished pytest-benchmark run and remember them."""
    if benchmark.stats is None:  # --benchmark-disable: the code ran once, nothing was timed
        return
    best = benchmark.stats.stats.min
    benchmark.extra_info.update(n_examples=n_examples, us_per_example=best / n_examples * 1e6,
                                samples_per_second=n_examples / best)
    RESULTS.setdefault(group, {})[impl] = best / n_examples


def pytest_terminal_summary(terminalreporter):
    if not RESULTS:
        return
    tr = terminalreporter
    tr.section("µs per example (best round, one epoch) and time relative to fastbp")
    names = ["fastbp", "numpy", "jax", "pytorch"]
    tr.write_line(f"{'case':<44}" + "".join(f"{n:>20}" for n in names))
    for group, impls in RESULTS.items():
        f = impls.get("fastbp")
        cells = []
        for name in names:
            t = impls.get(name)
            if t is None:
                cells.append(f"{'-':>20}")
            elif f is None or name == "fastbp":
                cells.append(f"{t * 1e6:>20.3f}")
            else:
                cells.append(f"{f'{t * 1e6:.3f} ({t / f:.2f}x)':>20}")
        tr.write_line(f"{group:<44}" + "".join(cells))
