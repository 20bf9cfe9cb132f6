"""Live redraws of the dashboard: the visible plots are redrawn together in sweeps, at a bounded
rate, and data that arrives last (a pause, the end of a run) is still drawn."""
from __future__ import annotations

import time

import pytest

from engine.run.events import ProbeEvent, StepEvent
from gui.training import dashboard as dash_module
from gui.training.dashboard import UNITS

LAYER = "linear_1"
VISIBLE = ["Loss", "Weight gradient", "Back-propagated gradient", "Activations"]


def events(first: int, count: int) -> list:
    out = []
    for step in range(first, first + count):
        out.append(StepEvent(step, 1, step, 10_000, 1.0 / step, 0.01, 32))
        out.append(ProbeEvent(step, {LAYER: {"grad_norm": 0.1, "delta_norm": 0.01,
                                             "grad_rms": 0.001, "delta_rms": 0.0001,
                                             "sparsity": 0.5, "dead": 0.0}}))
    return out


@pytest.fixture
def dash(qtbot, window):
    d = window.ensure_training().dashboard
    d.reset(None)
    d.prepare([LAYER], [LAYER])
    for title in ("Loss", "Gradients", "Activations"):
        d.docks[title].raise_()
    qtbot.wait(50)                   # the raised docks are shown (and drawn) now
    return d


@pytest.fixture
def draws(dash, monkeypatch):
    seen: list[str] = []
    real = dash._draw

    def record(unit, force=False):
        seen.append(unit)
        real(unit, force)
    monkeypatch.setattr(dash, "_draw", record)
    return seen


def drawn_up_to_date(d, unit: str) -> bool:
    return d._drawn.get(unit) == d.store.signature(UNITS[unit][1])


def test_the_shown_plots_catch_up_with_events_that_stop_coming(qtbot, dash):
    dash.add(events(1, 50))
    dash.add(events(51, 50))         # within one sweep's interval, and nothing after it
    qtbot.waitUntil(lambda: all(drawn_up_to_date(dash, u) for u in VISIBLE), timeout=3000)
    assert dash.loss.curve_data("loss")[0].tolist() == list(range(1, 101))
    assert dash.weight_grad.curve_data(LAYER)[0].tolist() == list(range(1, 101))
    qtbot.waitUntil(lambda: not dash._timer.isActive(), timeout=3000)


def test_sweeps_draw_every_shown_plot_together_at_a_bounded_rate(qtbot, dash, draws):
    step, t_end = 1, time.monotonic() + 1.0
    while time.monotonic() < t_end:            # events as the worker sends them, 20 a second
        dash.add(events(step, 10))
        step += 10
        qtbot.wait(50)
    qtbot.waitUntil(lambda: all(drawn_up_to_date(dash, u) for u in VISIBLE), timeout=3000)
    counts = {u: draws.count(u) for u in VISIBLE}
    assert min(counts.values()) >= 2 and max(counts.values()) - min(counts.values()) <= 1
    assert max(counts.values()) <= 1.0 / dash_module.MIN_SWEEP_S + 2
    assert not any(u in draws for u in ("Accuracy", "Gradient map", "Confusion"))  # behind tabs


def test_a_sweep_draws_one_dock_per_turn_of_the_event_loop(qtbot, dash, draws, monkeypatch):
    turns: list[int] = []                      # docks drawn by each turn (timer call)
    real_step = dash._sweep_step

    def turn():
        before = len(draws)
        real_step()
        turns.append(len(draws) - before)
    monkeypatch.setattr(dash, "_sweep_step", turn)
    dash._timer.timeout.disconnect()
    dash._timer.timeout.connect(turn)
    monkeypatch.setattr(dash, "_next_sweep", 0.0)
    dash.add(events(1, 20))
    qtbot.waitUntil(lambda: not dash._timer.isActive() and dash._sweep_began is None,
                    timeout=3000)
    assert sorted(draws) == sorted(VISIBLE)
    assert turns.count(1) == len(VISIBLE) and max(turns) == 1     # then the closing turn


def test_costly_drawing_spaces_the_sweeps_out(qtbot, dash, monkeypatch):
    real = dash._draw

    def slow(unit, force=False):         # 20 ms of this thread's time (not a sleep)
        end = time.thread_time() + 0.02
        while time.thread_time() < end:
            sum(range(1000))
        real(unit, force)
    monkeypatch.setattr(dash, "_draw", slow)
    dash.add(events(1, 10))
    qtbot.waitUntil(lambda: not dash._sweep and all(drawn_up_to_date(dash, u)
                                                    for u in VISIBLE), timeout=3000)
    qtbot.waitUntil(lambda: dash._sweep_began is None, timeout=3000)   # the closing turn
    wait = dash._next_sweep - time.monotonic()
    # four docks at >= 20 ms each, at most DRAW_SHARE of the time
    assert wait > 4 * 0.02 / dash_module.DRAW_SHARE - 0.3 > dash_module.MIN_SWEEP_S


def test_flush_draws_now_and_stop_leaves_no_timer(qtbot, dash):
    dash.add(events(1, 30))
    dash.add(events(31, 30))
    dash.flush()
    assert all(drawn_up_to_date(dash, u) for u in VISIBLE)
    assert not dash._timer.isActive()
    dash.add(events(61, 5))
    dash.stop()
    assert not dash._timer.isActive() and not dash._sweep
