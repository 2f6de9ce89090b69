"""Model files (fastbp.io): round trips, resumed training, and every kind of bad file."""
import hashlib
import json
import os
import tracemalloc
import zipfile

import numpy as np
import pytest

import fastbp
from fastbp import io
from fastbp.io import ModelFileError

from conftest import make_data


def trained(hidden="tanh", output="softmax", loss=None, dtype="float64", sizes=(4, 6, 5, 3),
            epochs=2, seed=1):
    net = fastbp.Network(list(sizes), hidden=hidden, output=output, loss=loss, dtype=dtype,
                         seed=seed)
    X, Y = make_data(output, n=24, n_in=sizes[0], n_out=sizes[-1], seed=seed, dtype=dtype)
    net.fit(X, Y, epochs=epochs, lr=0.05)
    return net, X, Y


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """(path, bytes) of a valid Network file with a sizeable theta."""
    path = tmp_path_factory.mktemp("good") / "net.npz"
    net, _, _ = trained(sizes=(20, 40, 3))
    net.save(path)
    return path, path.read_bytes()


def entries(path):
    """The raw entries of a model file (read the way any .npz is, without fastbp)."""
    with np.load(path, allow_pickle=False) as z:
        return {name: z[name] for name in z.files}


def header_of(raw):
    return json.loads(raw["__header__"].tobytes().decode("utf-8"))


def checksum(header, arrays):
    """The SHA-256 a model file stores: header bytes, then every listed array's bytes."""
    header_bytes = json.dumps(header).encode("utf-8")
    h = hashlib.sha256(header_bytes)
    for entry in header["arrays"]:
        h.update(np.ascontiguousarray(arrays[entry["name"]]).tobytes())
    return header_bytes, h.digest()


def forge(path, header, arrays, allow_pickle=False):
    """Write a model file by hand (np.savez) with a correct checksum for ``header``."""
    header_bytes, digest = checksum(header, arrays)
    np.savez(path, __header__=np.frombuffer(header_bytes, np.uint8), **arrays,
             __checksum__=np.frombuffer(digest, np.uint8), allow_pickle=allow_pickle)


def edited(good, tmp_path, edit, name="bad.npz"):
    """A copy of the good file whose header JSON went through ``edit`` (checksum correct)."""
    raw = entries(good[0])
    header = header_of(raw)
    arrays = {k: a for k, a in raw.items() if not k.startswith("__")}
    edit(header, arrays)
    path = tmp_path / name
    forge(path, header, arrays)
    return path


def refused(path, *words):
    """fastbp.load raises one ModelFileError (a ValueError) naming the file and the problem."""
    with pytest.raises(ValueError) as info:
        fastbp.load(path)
    assert isinstance(info.value, ModelFileError)
    msg = str(info.value)
    assert str(path) in msg
    for w in words:
        assert w in msg, msg
    return msg


# ---------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("hidden,output,loss", [
    ("tanh", "softmax", "cross_entropy"), ("relu", "sigmoid", "cross_entropy"),
    ("sigmoid", "sigmoid", "mse"), ("elu", "identity", "mse"), ("softplus", "tanh", "mse"),
    ("leaky_relu", "softmax", "mse"), ("identity", "identity", "mse")])
def test_round_trip_is_bit_exact(tmp_path, dtype, hidden, output, loss):
    net, X, _ = trained(hidden, output, loss, dtype)
    path = net.save(tmp_path / "m.npz")
    back = fastbp.load(path)
    assert type(back) is fastbp.Network
    assert repr(back) == repr(net)
    assert back.theta.dtype == net.theta.dtype
    assert back.theta.tobytes() == net.theta.tobytes()
    assert back.predict(X).tobytes() == net.predict(X).tobytes()
    assert (back.init, back.hidden, back.output, back.loss_name) == \
        (net.init, net.hidden, net.output, net.loss_name)
    assert back.history_.as_dict() == net.history_.as_dict()
    for w, w0 in zip(back.weights, net.weights):
        assert np.shares_memory(w, back.theta) and np.array_equal(w, w0)


def test_per_layer_activations_and_init(tmp_path):
    net = fastbp.Network([3, 4, 5, 2], hidden=["relu", "tanh"], output="identity",
                         init="he_uniform", seed=3)
    back = fastbp.load(net.save(tmp_path / "m.npz"))
    assert back.hidden == ("relu", "tanh") and back.init == "he_uniform"
    assert back.theta.tobytes() == net.theta.tobytes()


def test_history_details_survive(tmp_path):
    net = fastbp.Network([4, 5, 3], output="softmax", seed=0)
    X, Y = make_data("softmax", n=40)
    net.fit(X, Y, epochs=6, validation_fraction=0.25, early_stopping=True, patience=2)
    back = fastbp.load(net.save(tmp_path / "m.npz"))
    h, h0 = back.history_, net.history_
    assert h.as_dict() == h0.as_dict() and h.val_accuracy
    assert (h.best_epoch, h.stopped_early, h.interrupted) == \
        (h0.best_epoch, h0.stopped_early, h0.interrupted)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_resumed_training_is_bit_exact(tmp_path, dtype):
    net, X, Y = trained(dtype=dtype)
    back = fastbp.load(net.save(tmp_path / "m.npz"))
    for model in (net, back):  # shuffles with the generator, a validation split too
        model.fit(X, Y, epochs=2, lr=0.05, validation_fraction=0.25)
        model.fit(X, Y, epochs=1, optimizer="adam", lr=0.01, dropout=0.2)
    assert back.theta.tobytes() == net.theta.tobytes()
    assert back.predict(X).tobytes() == net.predict(X).tobytes()
    assert back.history_.as_dict()["loss"] == net.history_.as_dict()["loss"]


def test_copy_after_load_matches_copy_of_original(tmp_path):
    net, X, Y = trained()
    back = fastbp.load(net.save(tmp_path / "m.npz"))
    a, b = net.copy(), back.copy()
    a.fit(X, Y, epochs=1)
    b.fit(X, Y, epochs=1)
    assert a.theta.tobytes() == b.theta.tobytes()


@pytest.mark.parametrize("bitgen", ["PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64"])
def test_generator_kinds(tmp_path, bitgen):
    rng = np.random.Generator(getattr(np.random, bitgen)(7))
    net = fastbp.Network([3, 4, 2], seed=rng)
    rng.random(5)  # some draws: state is not the seeded one
    back = fastbp.load(net.save(tmp_path / "m.npz"))
    assert back._rng.random(3).tobytes() == rng.random(3).tobytes()


def test_without_generator_or_history(tmp_path):
    net, X, Y = trained()
    back = fastbp.load(net.save(tmp_path / "m.npz", generator=False, history=False))
    assert back.history_ is None
    assert back.theta.tobytes() == net.theta.tobytes()
    back.fit(X, Y, epochs=1)  # trains, with a fresh generator
    assert "generator" in header_of(entries(tmp_path / "m.npz"))["meta"]


def test_population_round_trip_and_resume(tmp_path):
    pop = fastbp.Population([4, 5, 3], 3, hidden="relu", output="softmax", dtype="float32",
                            seeds=[4, 5, 6])
    X, Y = make_data("softmax", n=30, dtype=np.float32)
    pop.fit(X, Y, epochs=2, lr=0.05)
    pop.members[1].fit(X, Y, epochs=1, lr=0.05)  # a member with a history of its own
    back = fastbp.load(pop.save(tmp_path / "p.npz"))
    assert type(back) is fastbp.Population and len(back) == 3
    assert back.thetas.tobytes() == pop.thetas.tobytes()
    assert all(np.shares_memory(m.theta, back.thetas) for m in back.members)
    assert back.members[1].history_.as_dict() == pop.members[1].history_.as_dict()
    assert back.members[0].history_ is None
    pop.fit(X, Y, epochs=2, lr=0.05)
    back.fit(X, Y, epochs=2, lr=0.05)
    assert back.thetas.tobytes() == pop.thetas.tobytes()
    assert back.predict(X).tobytes() == pop.predict(X).tobytes()
    assert fastbp.Population.load(tmp_path / "p.npz").thetas.shape == (3, pop.layout.n_params)


def test_same_model_same_bytes(tmp_path):
    net, _, _ = trained()
    a, b = net.save(tmp_path / "a.npz"), net.save(tmp_path / "b.npz")
    assert open(a, "rb").read() == open(b, "rb").read()


def test_generic_read_write(tmp_path):
    arrays = {"classes": np.array(["cat", "dog"]), "ints": np.arange(6, dtype=np.int32).reshape(2, 3),
              "flags": np.array([True, False]), "empty": np.zeros((0, 4)), "scalar": np.float32(2.5)}
    meta = {"a": [1, 2.5, None, True], "name": "naïve"}
    path = io.write(tmp_path / "x.npz", "Thing", meta, arrays)
    kind, meta2, arrays2 = io.read(path)
    assert kind == "Thing" and meta2 == meta and list(arrays2) == list(arrays)
    for k in arrays:
        assert arrays2[k].dtype == np.asarray(arrays[k]).dtype
        assert np.array_equal(arrays2[k], arrays[k])
    refused(path, "unknown kind 'Thing'")


@pytest.mark.parametrize("arrays,meta,exc", [
    ({"x": np.array([object()])}, {}, TypeError),
    ({"x": np.array([1 + 2j])}, {}, TypeError),
    ({"__x": np.zeros(2)}, {}, ValueError),
    ({"a/b": np.zeros(2)}, {}, ValueError),
    ({}, {"x": float("nan")}, TypeError),
    ({}, {"x": object()}, TypeError)])
def test_write_refuses(tmp_path, arrays, meta, exc):
    with pytest.raises(exc):
        io.write(tmp_path / "x.npz", "Thing", meta, arrays)
    assert os.listdir(tmp_path) == []


def test_save_refuses_non_finite_theta(tmp_path):
    net = fastbp.Network([2, 3, 1])
    net.theta[4] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        net.save(tmp_path / "m.npz")
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------------------- atomicity
def test_failed_replace_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    net, _, _ = trained()
    net.save(path)
    before = path.read_bytes()

    def boom(src, dst):
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", boom)
    net.theta[:] = 0.5
    with pytest.raises(OSError, match="disk on fire"):
        net.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.npz"]


def test_failure_while_writing_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    net, _, _ = trained()
    net.save(path)
    before = path.read_bytes()
    original = np.lib.format.write_array
    calls = []

    def write_array(fp, arr, **kw):
        calls.append(1)
        if len(calls) == 2:  # after the header entry: a half-written archive
            raise KeyboardInterrupt
        return original(fp, arr, **kw)

    monkeypatch.setattr(np.lib.format, "write_array", write_array)
    with pytest.raises(KeyboardInterrupt):
        net.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.npz"]
    assert fastbp.load(path).theta.tobytes() == net.theta.tobytes()


def test_new_file_mode_follows_umask(tmp_path):
    if os.name != "posix":
        pytest.skip("POSIX permissions")
    old = os.umask(0o027)
    try:
        path = fastbp.Network([2, 2]).save(tmp_path / "m.npz")
    finally:
        os.umask(old)
    assert os.stat(path).st_mode & 0o777 == 0o640


# ---------------------------------------------------------------------------- bad files
def test_missing_file_is_an_oserror(tmp_path):
    with pytest.raises(FileNotFoundError):
        fastbp.load(tmp_path / "nope.npz")


def test_not_a_zip(tmp_path):
    path = tmp_path / "m.npz"
    path.write_text("sizes,theta\n1,2\n")
    refused(path, "not a zip archive")
    path.write_bytes(b"")
    refused(path, "empty")
    np.save(tmp_path / "a.npy", np.zeros(3))
    refused(tmp_path / "a.npy", "single NumPy .npy")
    with zipfile.ZipFile(tmp_path / "z.npz", "w") as zf:
        zf.writestr("readme.txt", "hello")
    refused(tmp_path / "z.npz", "not a NumPy .npz")


@pytest.mark.parametrize("keep", [0.5, 0.9, -1, 100, 10])
def test_truncated(tmp_path, good, keep):
    data = good[1]
    n = int(len(data) * keep) if isinstance(keep, float) else (
        len(data) + keep if keep < 0 else keep)
    path = tmp_path / "cut.npz"
    path.write_bytes(data[:n])
    refused(path, "truncated")


def test_flipped_byte_in_the_middle(tmp_path, good):
    data = bytearray(good[1])
    data[len(data) // 2] ^= 0x01
    path = tmp_path / "flip.npz"
    path.write_bytes(bytes(data))
    refused(path, "damaged")


@pytest.mark.parametrize("where", range(0, 100, 7))
def test_any_flipped_byte_is_refused(tmp_path, good, where):
    data = bytearray(good[1])
    pos = len(data) * where // 100
    data[pos] ^= 0x10
    path = tmp_path / "flip.npz"
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError):
        fastbp.load(path)


def test_arrays_edited_without_fastbp(tmp_path, good):
    raw = entries(good[0])
    raw["theta"] = raw["theta"] + 1e-3  # zip CRCs are right, the stored checksum is not
    np.savez(tmp_path / "e.npz", **raw)
    refused(tmp_path / "e.npz", "checksum")


def test_foreign_npz(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "f.npz", theta=rng.normal(size=10), sizes=np.array([2, 3, 1]))
    refused(tmp_path / "f.npz", "not a fastbp model file", "theta")
    np.savez(tmp_path / "g.npz", __header__=np.frombuffer(b'{"a": 1}', np.uint8))
    refused(tmp_path / "g.npz", "not a fastbp model file")


def test_newer_format_version(tmp_path, good):
    def edit(header, arrays):
        header["format_version"] = 2
        header["meta"]["something_new"] = True
    refused(edited(good, tmp_path, edit), "newer fastbp", "format version 2", "upgrade")


def test_object_array(tmp_path, good):
    # theta replaced by an object array (pickled) that the header still lists as float64
    raw = entries(good[0])
    raw["theta"] = np.array([{"x": 1}, "payload"], dtype=object)
    np.savez(tmp_path / "o.npz", **raw, allow_pickle=True)
    refused(tmp_path / "o.npz", "object array")

    # and a header that declares the object array itself
    raw = entries(good[0])
    header = header_of(raw)
    header["arrays"][0]["dtype"] = "|O"
    header_bytes = json.dumps(header).encode()
    raw["__header__"] = np.frombuffer(header_bytes, np.uint8)
    raw["theta"] = np.array([1.0, "x"], dtype=object)
    np.savez(tmp_path / "p.npz", **raw, allow_pickle=True)
    refused(tmp_path / "p.npz", "object array")


def test_header_claiming_huge_arrays(tmp_path, good):
    def edit(header, arrays):
        assert header["arrays"][0]["name"] == "theta"
        header["arrays"][0]["shape"] = [10**12]
        header["meta"]["sizes"] = [10**6, 10**6 - 1]
    path = edited(good, tmp_path, edit)
    tracemalloc.start()
    try:
        refused(path, "claims", "1000000000000", "nothing was allocated")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**22


def test_entry_disagreeing_with_header(tmp_path, good):
    def edit(header, arrays):
        arrays["theta"] = arrays["theta"][:-1]  # header still lists the full length
    refused(edited(good, tmp_path, edit), "theta", "header declares")


def test_theta_length_mismatch(tmp_path, good):
    def edit(header, arrays):
        arrays["theta"] = arrays["theta"][:-1]
        header["arrays"][0]["shape"] = [arrays["theta"].size]
    refused(edited(good, tmp_path, edit), "invalid Network", "theta holds")


@pytest.mark.parametrize("key,value,words", [
    ("hidden", ["swish"], ("hidden[0]", "swish")),
    ("output", "gelu", ("output", "gelu")),
    ("loss", "hinge", ("loss", "hinge")),
    ("dtype", "float16", ("dtype",)),
    ("sizes", [20, -1, 3], ("sizes",)),
    ("sizes", "20,40,3", ("sizes",)),
    ("generator", {"bit_generator": "Evil", "seed_sequence": None, "state": {}}, ("Evil",)),
    ("history", {"best_epoch": "x", "stopped_early": 0, "interrupted": 0}, ("best_epoch",))])
def test_bad_meta(tmp_path, good, key, value, words):
    def edit(header, arrays):
        header["meta"][key] = value
    refused(edited(good, tmp_path, edit), "invalid Network", *words)


def test_unexpected_entries_and_keys(tmp_path, good):
    def extra_array(header, arrays):
        arrays["payload"] = np.zeros(3)
        header["arrays"].append({"name": "payload", "dtype": "<f8", "shape": [3]})
    refused(edited(good, tmp_path, extra_array), "unexpected arrays", "payload")

    def extra_meta(header, arrays):
        header["meta"]["exec"] = "rm -rf /"
    refused(edited(good, tmp_path, extra_meta), "unexpected", "exec")

    raw = entries(good[0])
    raw["unlisted"] = np.zeros(2)
    np.savez(tmp_path / "u.npz", **raw)
    refused(tmp_path / "u.npz", "does not list", "unlisted")

    raw = entries(good[0])
    np.savez_compressed(tmp_path / "c.npz", **raw)
    refused(tmp_path / "c.npz", "compressed")


def test_bad_json_header(tmp_path, good):
    raw = entries(good[0])
    for text in (b"{not json", b'{"format": NaN}', b"[" * 100000, b'{"a": 1, "a": 2}',
                 b"\xff\xfe"):
        raw["__header__"] = np.frombuffer(text, np.uint8)
        np.savez(tmp_path / "j.npz", **raw)
        refused(tmp_path / "j.npz", "not valid JSON")


def test_wrong_and_unknown_kind(tmp_path, good):
    pop = fastbp.Population([2, 3, 1], 2)
    pop.save(tmp_path / "p.npz")
    with pytest.raises(ModelFileError, match="holds a Population, not a Network"):
        fastbp.Network.load(tmp_path / "p.npz")
    with pytest.raises(ModelFileError, match="holds a Network, not a Population"):
        fastbp.load(good[0], kind=fastbp.Population)

    def edit(header, arrays):
        header["kind"] = "os_system"
    refused(edited(good, tmp_path, edit), "unknown kind 'os_system'")

    def edit(header, arrays):
        header["kind"] = "Population"
    refused(edited(good, tmp_path, edit), "invalid Population")


def test_every_truncation_and_every_flipped_bit(tmp_path):
    """Exhaustive on a small file: each truncation is refused; each single-bit flip is
    refused with a ModelFileError, or (zip bookkeeping the checksum does not cover, such as
    timestamps) loads the very same model."""
    net = fastbp.Network([2, 3, 1], seed=0)
    path = net.save(tmp_path / "m.npz", history=False)
    data = open(path, "rb").read()
    bad = tmp_path / "bad.npz"
    for n in range(len(data)):
        bad.write_bytes(data[:n])
        with pytest.raises(ModelFileError):
            fastbp.load(bad)
    loaded = 0
    for i in range(len(data)):
        for bit in (0x01, 0x80):
            flipped = bytearray(data)
            flipped[i] ^= bit
            bad.write_bytes(bytes(flipped))
            try:
                back = fastbp.load(bad)
            except ModelFileError:
                continue
            loaded += 1
            assert back.theta.tobytes() == net.theta.tobytes()
            assert repr(back) == repr(net)
    assert loaded < len(data) // 2
