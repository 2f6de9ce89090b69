"""A numpy Generator's state as JSON values, and back."""
import numpy as np

from ._format import BIT_GENERATORS, _dict, _short


def generator_to_json(rng):
    """A numpy Generator's bit generator, seed sequence and state as JSON values."""
    bg = rng.bit_generator
    name = type(bg).__name__
    if name not in BIT_GENERATORS or type(bg) is not getattr(np.random, name):
        raise ValueError(f"the network's generator uses the bit generator {name}; a model "
                         f"file stores {', '.join(BIT_GENERATORS)} (save with generator=False)")
    seq = bg.seed_seq
    seq_json = None
    if isinstance(seq, np.random.SeedSequence):
        entropy = seq.entropy
        if entropy is not None and not isinstance(entropy, int):
            entropy = [int(e) for e in np.asarray(entropy).ravel()]
        seq_json = {"entropy": entropy, "spawn_key": [int(k) for k in seq.spawn_key],
                    "pool_size": int(seq.pool_size),
                    "n_children_spawned": int(seq.n_children_spawned)}
    return {"bit_generator": name, "seed_sequence": seq_json, "state": _encode(bg.state)}


def generator_from_json(data):
    """The Generator that ``generator_to_json`` described (ValueError/TypeError if not)."""
    data = _dict("generator", data, {"bit_generator", "seed_sequence", "state"})
    name = data["bit_generator"]
    if name not in BIT_GENERATORS:
        raise ValueError(f"unknown bit generator {_short(name)} (known: {BIT_GENERATORS})")
    seq = data["seed_sequence"]
    if seq is not None:
        seq = _dict("seed_sequence", seq,
                    {"entropy", "spawn_key", "pool_size", "n_children_spawned"})
        entropy = seq["entropy"]
        ok_int = lambda x: type(x) is int and x >= 0  # noqa: E731
        if not (entropy is None or ok_int(entropy)
                or (isinstance(entropy, list) and len(entropy) <= 1024
                    and all(ok_int(e) for e in entropy))):
            raise ValueError("seed_sequence entropy must be a non-negative int or a list of them")
        key = seq["spawn_key"]
        if not isinstance(key, list) or len(key) > 1024 or not all(ok_int(k) for k in key):
            raise ValueError("seed_sequence spawn_key must be a list of non-negative ints")
        pool, spawned = seq["pool_size"], seq["n_children_spawned"]
        if not (ok_int(pool) and 4 <= pool <= 1024) or not ok_int(spawned):
            raise ValueError("seed_sequence pool_size / n_children_spawned out of range")
        seq = np.random.SeedSequence(entropy, spawn_key=tuple(key), pool_size=pool,
                                     n_children_spawned=spawned)
    bg = getattr(np.random, name)(seq)
    state = _decode(data["state"])
    if not isinstance(state, dict) or state.get("bit_generator") != name:
        raise ValueError(f"the generator state is not a {name} state")
    bg.state = state
    return np.random.Generator(bg)


def _encode(value):
    if isinstance(value, dict):
        return {str(k): _encode(x) for k, x in value.items()}
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.dtype.str, "values": [int(x) for x in value.ravel()]}
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, str):
        return value
    raise TypeError(f"cannot store a generator state holding {type(value).__name__}")


def _decode(value, depth=0):
    if depth > 4:
        raise ValueError("the generator state is nested too deeply")
    if isinstance(value, dict):
        if "__ndarray__" in value:
            value = _dict("generator state array", value, {"__ndarray__", "values"})
            dtype, values = value["__ndarray__"], value["values"]
            if dtype not in ("<u4", "<u8", "|u1", "<i4", "<i8") or not isinstance(values, list) \
                    or len(values) > 1 << 16 or not all(type(x) is int for x in values):
                raise ValueError("invalid array in the generator state")
            return np.array(values, dtype=dtype)
        return {k: _decode(x, depth + 1) for k, x in value.items()}
    if type(value) in (int, str, bool):
        return value
    raise TypeError(f"invalid value in the generator state: {_short(value)}")
