"""What every timed implementation of `fastbp bench` is: the base class, and the check
that an optional peer can be imported (its own module, so that the peer modules import it
without importing each other)."""


class Impl:
    """An implementation: ``prepare`` builds state for (X, Y, order); ``run`` trains one epoch
    from theta0 and returns the final flat theta (in fastbp's layout)."""

    name = "?"

    def available(self):
        return True, ""


def _importable(module):
    import importlib

    try:
        importlib.import_module(module)
    except Exception as exc:  # ImportError or a broken install
        return False, f"not installed ({type(exc).__name__})"
    return True, ""
