"""Classification of scikit-learn's bundled digits with a continuum network.

Each 8×8 image is read in as a signal of 64 samples on [-1, 1] (P0 on 64 cells); 10 P0
read-out cells give the logits. The network is trained inside rk4 with 4 steps, then the
same fields are re-manifested with other schemes and step counts: the accuracy table shows
how the learned dynamics behave as a continuous-in-depth model.

Run: ``python examples/digits_classification.py [--epochs N] [--out FIGURE.png]``
"""

from __future__ import annotations

import argparse

from fem_nn.tasks import accuracy, digits_network, digits_task, train_classifier
from fem_nn.plotting import pyplot, save_figure

SCHEMES = ("euler", "midpoint", "heun", "rk4", "rk4_38")
STEPS = (1, 2, 3, 4, 6, 8, 16, 32)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--out", default="digits_classification.png", help="figure path ('' for none)")
    args = parser.parse_args(argv)

    task = digits_task()
    network = digits_network()
    history = train_classifier(network, task, epochs=args.epochs)
    print(f"test accuracy after training (rk4, {network.steps} steps): {history[-1]['test_accuracy']:.2%}")

    table = {s: [accuracy(network.remanifested(s, n), task.x_test, task.y_test) for n in STEPS] for s in SCHEMES}
    print(f"{'scheme':<10}" + "".join(f"{n:>8}" for n in STEPS))
    for scheme, row in table.items():
        print(f"{scheme:<10}" + "".join(f"{a:8.2%}" for a in row))

    if args.out:
        plt = pyplot()
        figure, ax = plt.subplots(figsize=(6, 4))
        for scheme, row in table.items():
            ax.semilogx(STEPS, [100 * a for a in row], "o-", label=scheme)
        ax.axvline(network.steps, color="grey", linestyle=":", label="training steps")
        ax.set_xlabel("steps")
        ax.set_ylabel("test accuracy [%]")
        ax.set_ylim(80, 100)
        ax.legend()
        ax.grid(True, which="both", alpha=0.3)
        save_figure(figure, args.out)
    return table


if __name__ == "__main__":
    main()
