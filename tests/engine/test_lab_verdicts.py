"""Each Lab verdict follows its rule from the numbers: crafted tables fed to the rules."""
import pytest

from engine.lab.gradients import vanishing_verdict
from engine.lab.initialisation import init_schemes_verdict, spearman, weight_vs_backprop_verdict
from engine.lab.verdict import (NOT_REPRODUCED, PARTLY, REPRODUCED, Check, clearly_above, judge,
                                spread)


def s(*values):
    return spread(values)


def test_the_rule_every_verdict_uses():
    ok, bad = Check("a", True, "f", "r"), Check("b", False, "f", "r")
    assert judge([ok, ok]).status == REPRODUCED
    assert judge([ok, bad]).status == PARTLY
    assert judge([bad, ok]).status == NOT_REPRODUCED
    assert judge([]).status == NOT_REPRODUCED
    assert judge([ok, bad]).deciding is judge([ok, bad]).checks[1]
    assert judge([ok, bad]).headline() == "Partly reproduced. b: f."


def test_clearly_above_needs_a_gap_beyond_the_seeds_spread():
    assert clearly_above(s(0.97, 0.975, 0.972), s(0.93, 0.94, 0.935))
    assert clearly_above(s(0.962, 0.976, 0.968), s(0.938, 0.956, 0.950))   # paired by seed
    assert not clearly_above(s(0.855, 0.86, 0.85), s(0.855, 0.85, 0.86))     # a tie
    assert not clearly_above(s(0.95, 0.80, 0.97), s(0.90, 0.91, 0.89))      # one seed below
    assert not clearly_above(s(0.93, 0.95, 0.97), s(0.92, 0.90, 0.96))      # gap within noise
    assert not clearly_above(s(0.95), None) and not clearly_above(s(0.9, 0.9), s(0.8))
    assert not clearly_above(s(0.856), s(0.855))          # one seed cannot be told from noise
    assert not clearly_above(s(0.99), s(0.10))
    assert spread([None, float("nan")]) is None and s(0.5).sd == 0


def vanishing_rows(sigmoid, tanh, relu):
    return [["Sigmoid", "uniform ±1/√n", s(*sigmoid)], ["Tanh", "uniform ±1/√n", s(*tanh)],
            ["ReLU", "He", s(*relu)]]


@pytest.mark.parametrize("sigmoid, tanh, relu, status", [
    ((3e-4, 4e-4, 3.5e-4), (0.08, 0.09, 0.07), (0.9, 1.0, 1.1), REPRODUCED),
    ((3e-4, 4e-4, 0.2), (0.08, 0.09, 0.07), (0.9, 1.0, 1.1), NOT_REPRODUCED),   # one seed
    ((3e-4, 4e-4, 3.5e-4), (0.08, 0.09, 0.7), (0.9, 1.0, 1.1), PARTLY),
    ((3e-4, 4e-4, 3.5e-4), (0.08, 0.09, 0.07), (0.1, 0.2, 0.1), PARTLY),
])
def test_vanishing_gradients_rule(sigmoid, tanh, relu, status):
    assert vanishing_verdict(vanishing_rows(sigmoid, tanh, relu)).status == status


def scheme_rows(measured: dict) -> list[list]:
    from engine.lab.initialisation import GAIN, INITS, SLOPE2, predicted_ratio
    rows = []
    for (act, init), values in measured.items():
        rows.append([act, INITS[init], GAIN[init] * SLOPE2[act], predicted_ratio(act, init),
                     s(*values)])
    return rows


PAPER_ORDER = {("Sigmoid", "uniform"): (3e-4, 4e-4), ("Sigmoid", "xavier_uniform"): (2e-3, 3e-3),
               ("Sigmoid", "kaiming_normal"): (8e-3, 9e-3), ("ReLU", "uniform"): (0.03, 0.03),
               ("Tanh", "uniform"): (0.08, 0.09), ("ReLU", "xavier_uniform"): (0.26, 0.28),
               ("Tanh", "xavier_uniform"): (0.33, 0.35), ("ReLU", "kaiming_normal"): (0.9, 1.0),
               ("Tanh", "kaiming_normal"): (0.8, 0.85)}


def test_init_schemes_rule():
    assert init_schemes_verdict(scheme_rows(PAPER_ORDER)).status == REPRODUCED
    reversed_order = {k: (1 / v[0], 1 / v[1]) for k, v in PAPER_ORDER.items()}
    assert init_schemes_verdict(scheme_rows(reversed_order)).status == NOT_REPRODUCED
    no_xavier_gain = dict(PAPER_ORDER)
    no_xavier_gain[("Tanh", "xavier_uniform")] = (0.09, 0.1)       # barely above uniform
    verdict = init_schemes_verdict(scheme_rows(no_xavier_gain))
    assert verdict.status == PARTLY and "Xavier" in verdict.deciding.predicts
    assert spearman([1, 2, 3], [10, 20, 30]) == 1 and spearman([1, 2, 3], [3, 2, 1]) == -1
    assert spearman([1, 1, 2], [5, 5, 9]) == pytest.approx(1.0)


def wvb_rows(delta: list, grad: list) -> list[list]:
    return [[f"Linear {i}", s(d), s(g)] for i, (d, g) in enumerate(zip(delta, grad), start=1)]


def test_weight_vs_backprop_rule():
    flat = [5e-4, 5.2e-4, 4.9e-4, 5.1e-4, 5e-4]
    assert weight_vs_backprop_verdict(wvb_rows([1e-5, 2e-5, 4e-5, 7e-5, 1e-4], flat)).status \
        == REPRODUCED
    steep = [1e-5, 4e-5, 1e-4, 3e-4, 5e-4]
    assert weight_vs_backprop_verdict(wvb_rows([1e-5, 2e-5, 4e-5, 7e-5, 1e-4], steep)).status \
        == PARTLY
    assert weight_vs_backprop_verdict(wvb_rows([1e-4] * 5, flat)).status == NOT_REPRODUCED
    assert weight_vs_backprop_verdict([]).status == NOT_REPRODUCED


# ----------------------------------------------------------------------------- activations

def sparsity_rows(init=(0.51, 0.50, 0.50), relu_end=(0.48, 0.48, 0.49), l1_end=(0.76, 0.76, 0.76),
                  relu_acc=(0.94, 0.944, 0.952), l1_acc=(0.934, 0.934, 0.93),
                  train=(1.0, 1.0, 1.0)):
    return [["ReLU", 0.0, s(*init), s(*relu_end), s(*relu_acc), s(*train)],
            ["ReLU + L1 penalty", 0.3, s(*init), s(*l1_end), s(*l1_acc), s(*train)],
            ["Softplus", 0.0, s(0.0), s(0.0), s(0.94), s(1.0)]]


def test_relu_sparsity_rule():
    from engine.lab.activations import relu_sparsity_verdict as rule
    assert rule(sparsity_rows()).status == REPRODUCED
    assert rule(sparsity_rows(init=(0.3, 0.3, 0.3))).status == NOT_REPRODUCED
    assert rule(sparsity_rows(l1_end=(0.6, 0.6, 0.6))).status == PARTLY
    costly = rule(sparsity_rows(l1_acc=(0.85, 0.85, 0.86)))
    assert costly.status == PARTLY and "cost" in costly.deciding.predicts
    unconverged = rule(sparsity_rows(train=(0.9, 1.0, 1.0)))
    assert unconverged.status == PARTLY and "convergence" in unconverged.deciding.predicts
    assert rule([]).status == NOT_REPRODUCED


def sat_row(seed, fell=126, low=0.02, at=2000, end=0.15, band=(0.49, 0.56), steps=8976):
    return [seed, fell, low, at, end, band[0], band[1], steps, 0.9]


def test_saturation_rule_counts_seeds():
    from engine.lab.activations import saturation_verdict as rule
    assert rule([sat_row(0), sat_row(1), sat_row(2)]).status == REPRODUCED
    never = dict(fell=None, low=0.16, at=8976, end=0.16)
    assert rule([sat_row(0, **never), sat_row(1, **never), sat_row(2)]).status == NOT_REPRODUCED
    assert rule([sat_row(0), sat_row(1), sat_row(2, **never)]).status == REPRODUCED   # 2 of 3
    no_recovery = dict(at=8900, end=0.025)
    assert rule([sat_row(i, **no_recovery) for i in range(3)]).status == PARTLY
    first_never = rule([sat_row(0, **never), sat_row(1), sat_row(2)])
    assert "never below 0.1" in first_never.checks[0].figure and "None" not in \
        first_never.headline()
    weak_recovery = dict(end=0.067)                      # twice the minimum, but still near 0
    assert rule([sat_row(i, low=0.017, **weak_recovery) for i in range(3)]).status == PARTLY
    lower_too = dict(band=(0.3, 0.55))
    assert rule([sat_row(i, **lower_too) for i in range(3)]).status == PARTLY
    assert rule([]).status == NOT_REPRODUCED


# ----------------------------------------------------------------------------- architectures

def sweep_rows(sigmoid, relu):
    return [["Sigmoid + uniform", 1, 0, s(*sigmoid[0])], ["Sigmoid + uniform", 7, 0, s(*sigmoid[1])],
            ["ReLU + He", 1, 0, s(*relu[0])], ["ReLU + He", 7, 0, s(*relu[1])]]


def test_depth_sweep_rule():
    from engine.lab.architectures import depth_sweep_verdict as rule
    good_sig, good_relu = ((0.93, 0.92, 0.92), (0.12, 0.09, 0.09)), ((0.94, 0.95, 0.96),
                                                                     (0.95, 0.93, 0.94))
    assert rule(sweep_rows(good_sig, good_relu)).status == REPRODUCED
    # the --quick table of the first release: ReLU + He fell 84.0 -> 64.5
    assert rule(sweep_rows(good_sig, ((0.84,), (0.645,)))).status == PARTLY
    assert rule(sweep_rows(((0.9,), (0.85,)), good_relu)).status == NOT_REPRODUCED
    assert rule(sweep_rows(good_sig, good_relu)[:2]).status == NOT_REPRODUCED     # stopped


def test_cnn_rule_needs_a_gap_beyond_the_seeds():
    from engine.lab.architectures import cnn_verdict as rule
    def rows(cnn, mlp):
        return [["LeNet-5", 61706, 8e5, s(*cnn), s(1.0)], ["MLP", 266610, 5e5, s(*mlp), s(0.3)]]
    assert rule(rows((0.976, 0.976, 0.968), (0.960, 0.956, 0.950))).status == REPRODUCED
    assert rule(rows((0.855, 0.86, 0.85), (0.855, 0.85, 0.86))).status == NOT_REPRODUCED  # tie
    assert rule(rows((0.856,), (0.855,))).status == NOT_REPRODUCED      # one seed
    assert rule([]).status == NOT_REPRODUCED


def test_pretraining_rule():
    from engine.lab.architectures import pretraining_verdict as rule
    def rows(sup, uns, rnd=(0.084, 0.118, 0.098)):
        return [["random", s(*rnd)], ["supervised", s(*sup)], ["unsupervised", s(*uns)]]
    assert rule(rows((0.926, 0.922, 0.924), (0.932, 0.92, 0.918))).status == REPRODUCED
    assert rule(rows((0.926, 0.922, 0.924), (0.09, 0.12, 0.1))).status == PARTLY
    assert rule(rows((0.09, 0.12, 0.1), (0.932, 0.92, 0.918))).status == NOT_REPRODUCED


# ----------------------------------------------------------------------------- capacity

def test_universal_approximation_rule():
    from engine.lab.capacity import universal_verdict as rule
    def rows(medians):
        return [[w, 3 * w + 1, s(m), m] for w, m in zip((1, 4, 16, 64, 256), medians)]
    assert rule(rows((0.456, 6e-3, 1.2e-4, 3e-4, 1.3e-4))).status == REPRODUCED
    assert rule(rows((0.456, 0.04, 9e-3, 3.9e-3, 3e-3))).status == PARTLY      # never 1e-3
    assert rule(rows((0.456, 6e-3, 1.2e-4, 2e-3, 1.3e-4))).status == PARTLY    # not kept
    assert rule(rows((0.456, 0.3, 0.2, 0.1, 0.05))).status == NOT_REPRODUCED
    assert rule(rows((0.456,))).status == NOT_REPRODUCED


def test_universal_approximation_findings_follow_the_numbers():
    from engine.lab.capacity import _width_findings as findings
    def rows(medians):
        return [[w, 3 * w + 1, s(m), m] for w, m in zip((1, 4, 16, 64), medians)]
    plateau = findings(rows((0.456, 9e-4, 3e-4, 8e-4)))[-1]
    assert "do not lower it further" in plateau
    falling = findings(rows((0.456, 9e-4, 3e-4, 1e-5)))[-1]      # a further 90-fold fall
    assert "falls a further 1/90 by 64 units" in falling and "do not" not in falling


def test_depth_vs_width_rule_against_the_construction():
    from engine.lab.capacity import depth_width_verdict as rule
    def row(bits, depth, width, params):
        return [bits, depth, width, depth * width, params, s(1.0), 3, 2 ** (bits - 1)]
    measured = {(4, 1): row(4, 1, 6, 44), (4, 3): row(4, 3, 3, 47),
                (8, 1): row(8, 1, 16, 178), (8, 3): row(8, 3, 16, 722)}
    assert rule(measured, (4, 8)).status == NOT_REPRODUCED      # what training finds: about 2n
    exponential = {(4, 1): row(4, 1, 8, 58), (8, 1): row(8, 1, 128, 1410),
                   (8, 3): row(8, 3, 6, 150)}
    assert rule(exponential, (4, 8)).status == REPRODUCED
    del exponential[(8, 3)]
    assert rule(exponential, (4, 8)).status == PARTLY
    none_fitted = {(4, 1): row(4, 1, 8, 58), (8, 3): row(8, 3, 6, 150)}   # 8 bits, 1 layer: none
    verdict = rule(none_fitted, (4, 8))
    assert verdict.status == NOT_REPRODUCED and "cannot tell" in verdict.headline()
