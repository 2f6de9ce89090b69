"""fastbp: a JIT-compiled per-sample SGD engine for fully-connected feed-forward networks.

All parameters of a network live in one flat array ``theta`` described by offset tables;
numba kernels (``fastbp.kernels``) run the forward pass, backpropagation and the in-place
update per example without allocating. ``fastbp.baseline`` is the same algorithm in plain
NumPy, the oracle the kernels are tested against.
"""
from . import baseline, cache, kernels
from .cache import SOURCE_STAMP, clear_cache
from .gradcheck import gradcheck, numerical_gradient
from .io import ModelFileError, load
from .layout import Layout, Spec, Workspace
from .network import Network
from .population import Population
from .training import DivergenceError, History
from .warmup import warmup

__version__ = "0.1.0"

#: Version of the kernel API for user @njit code (fastbp.kernels signatures, Spec, Workspace).
KERNEL_API_VERSION = 1

__all__ = ["Network", "Population", "History", "DivergenceError", "gradcheck", "numerical_gradient", "Layout",
           "Spec", "Workspace", "kernels", "baseline", "__version__", "KERNEL_API_VERSION", "cache", "clear_cache",
           "SOURCE_STAMP", "load", "ModelFileError", "warmup"]
