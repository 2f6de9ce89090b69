"""A numba simulation that learns online: a network learns a damped pendulum's dynamics.

The whole loop is one ``@njit`` function: every step it advances the pendulum
(semi-implicit Euler), asks the network for its prediction of the next state from the
current one (``fastbp.kernels.forward``), and takes one SGD step on the state it then
observes (``fastbp.kernels.sgd_step``): no Python, no allocation per step. The network
predicts the change of state, scaled, so that its targets are of order one.

Run: python examples/simulation.py
"""
import math

import numpy as np
from numba import njit

import fastbp
from fastbp import kernels

DT = 0.05        # time step (s)
DAMPING = 0.15   # 1/s
G_OVER_L = 9.81  # gravity / length (1/s^2)
SCALE = 10.0     # targets are SCALE * (next state - state)


@njit(cache=True)
def step(state):
    """Advance (angle, angular velocity) by one semi-implicit Euler step."""
    theta, omega = state[0], state[1]
    omega = omega + DT * (-G_OVER_L * math.sin(theta) - DAMPING * omega)
    theta = theta + DT * omega
    return theta, omega


@njit(cache=True)
def simulate(theta_net, spec, ws, n_steps, lr, seed, report_every, errors):
    """Run the pendulum for n_steps, learning online; a fresh random swing every 200 steps.

    errors[r] receives the mean squared error of the predicted next state (before the
    update) over the r-th block of ``report_every`` steps. Returns the final state.
    """
    np.random.seed(seed)
    x = np.zeros(2)
    y = np.zeros(2)
    state = np.zeros(2)
    block = 0.0
    for t in range(n_steps):
        if t % 200 == 0:  # a new swing: random angle and velocity
            state[0] = np.random.uniform(-2.5, 2.5)
            state[1] = np.random.uniform(-2.0, 2.0)
        x[0] = state[0]
        x[1] = state[1]
        out = kernels.forward(theta_net, spec, ws, x)
        nxt_theta, nxt_omega = step(state)
        y[0] = SCALE * (nxt_theta - state[0])
        y[1] = SCALE * (nxt_omega - state[1])
        e0 = (out[0] - y[0]) / SCALE
        e1 = (out[1] - y[1]) / SCALE
        block += e0 * e0 + e1 * e1
        kernels.sgd_step(theta_net, spec, ws, x, y, lr)
        state[0] = nxt_theta
        state[1] = nxt_omega
        if (t + 1) % report_every == 0:
            errors[(t + 1) // report_every - 1] = block / report_every
            block = 0.0
    return state


def main(n_steps=200_000, report_every=20_000, lr=0.01, seed=0, verbose=True):
    net = fastbp.Network([2, 32, 2], hidden="tanh", output="identity", seed=seed)
    errors = np.zeros(n_steps // report_every)
    baseline_err = None
    simulate(net.theta, net.spec, net.workspace(), n_steps, lr, seed, report_every, errors)
    # the error of always predicting "no change", for scale
    rng = np.random.default_rng(seed)
    s = np.column_stack([rng.uniform(-2.5, 2.5, 1000), rng.uniform(-2, 2, 1000)])
    nxt = np.array([step(si) for si in s])
    baseline_err = float(np.mean(np.sum((nxt - s) ** 2, axis=1)))
    if verbose:
        print(f"damped pendulum, {n_steps} steps of online learning (lr {lr}), network "
              f"{net!r}")
        print(f"mean squared one-step prediction error of 'no change': {baseline_err:.2e}")
        for r, e in enumerate(errors):
            print(f"  steps {r * report_every:>7}-{(r + 1) * report_every:<7} "
                  f"prediction error {e:.2e}")
    return errors, baseline_err


if __name__ == "__main__":
    main()
