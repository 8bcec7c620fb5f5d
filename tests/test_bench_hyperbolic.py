"""``fem-nn bench hyperbolic``: every row at no more parameters than the ResNet, the figures
read from the rows, and the compressed model's outputs unchanged."""

import json

import pytest

from fem_nn.bench.hyperbolic import ROWS, matched_channels
from fem_nn.cli import main


def test_bench_hyperbolic_prints_its_table_and_figures(capsys):
    rows = ["eq3 hardball@ds", "eq3 relu@all"]
    assert main(["bench", "hyperbolic", "--seconds", "0.5", "--seeds", "1", "--tasks", "digits_images",
                 "--rows", *rows, "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    figures = json.loads(out[-1])
    assert {"hyperbolic_vs_resnet_accuracy", "symmetry_compression", "digits_images_rows",
            "digits_images_compression_output_change", "digits_images_compression_accuracy_unchanged"} <= set(figures)
    table = figures["digits_images_rows"]
    assert set(table) == {"plain ResNet", *rows}
    assert all(table[row]["parameters"] <= table["plain ResNet"]["parameters"] for row in rows)
    assert all(len(r["accuracies"]) == 1 and r["breakdowns"] == 0 for r in table.values())
    best = max(rows, key=lambda row: table[row]["accuracy"])
    assert figures["hyperbolic_vs_resnet_accuracy"] == pytest.approx(
        100 * (table[best]["accuracy"] - table["plain ResNet"]["accuracy"]), abs=1e-12)
    # only hardball's O(n) leaves weights to remove: the compressed row, outputs unchanged in float64
    assert figures["digits_images_compressed"] == "eq3 hardball@ds"
    assert figures["digits_images_compression_output_change"] <= 1e-10  # round-off (the bench's bar: 1e-6)
    assert figures["digits_images_compression_accuracy_unchanged"] is True
    # the depth continuum read at other manifestations, trained as the discrete net and sampled
    for key in ("discrete", "sampled"):
        invariance = figures[f"digits_images_depth_invariance_{key}"]
        accuracies = invariance["accuracies"]
        assert set(accuracies) == {"trained", "euler x2", "euler x4", "rk4 x1", "rk4 x2"}
        assert invariance["max_drop_depth"] == pytest.approx(max(0.0, 100 * (accuracies["trained"] - min(accuracies.values()))))
    fraction = figures["symmetry_compression"]
    assert 0 < fraction < 1
    verdict = "met" if fraction >= 0.25 else "NOT met"
    assert f"symmetry_compression: {fraction:.4g} (target ≥ 0.25): {verdict}" in out


def test_matched_channels_refuses_a_budget_below_the_narrowest_model():
    with pytest.raises(ValueError, match="parameters: even channels"):
        matched_channels(ROWS["eq3 softball@ds"], 10, 100)
