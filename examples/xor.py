"""Learn XOR with a 2-4-1 sigmoid network, and see why weights must not start equal.

With ``init="zeros"`` every hidden unit computes the same function and receives the same
update, so the hidden units stay identical forever: the network behaves as if it had one
hidden unit and cannot represent XOR. Random (Glorot) initialisation breaks the symmetry.

Run: python examples/xor.py
"""
import textwrap

import numpy as np

import fastbp
from fastbp.datasets import xor


def train(init, seed=0, epochs=3000, lr=2.0):
    X, Y = xor()
    net = fastbp.Network([2, 4, 1], hidden="sigmoid", output="sigmoid", loss="mse",
                         init=init, seed=seed)
    net.fit(X, Y, epochs=epochs, lr=lr, seed=seed)
    return net, X, Y


def main():
    for init in ("glorot_uniform", "zeros"):
        net, X, Y = train(init)
        P = net.predict(X)[:, 0]
        W1 = net.weights[0]
        identical = bool(np.all(W1 == W1[0]) and np.all(net.biases[0] == net.biases[0][0]))
        print(f"init={init}:")
        for x, y, p in zip(X, Y[:, 0], P):
            print(f"  {x.astype(int)} -> {p:.3f} (target {int(y)})")
        print(f"  loss {net.loss(X, Y):.5f}; all hidden units identical: {identical}")
        print("  W1 =\n" + textwrap.indent(np.array2string(W1, precision=3), "    "))


if __name__ == "__main__":
    main()
