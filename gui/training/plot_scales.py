"""How a plot's view follows its data: axes labelled at whole decades, views rounded to
1, 2, 5 x 10^k steps (long series are drawn as envelopes: gui.training.series.envelope)."""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg


class DecadeAxis(pg.AxisItem):
    """An axis whose log mode is labelled at whole decades only (thinned out when they do not
    fit), with unlabelled ticks at 2..9 between them. pyqtgraph's own log axis labels every
    one of those when the axis spans only a decade or two, and on a short plot they overlap.
    A view inside one decade (zoomed in) keeps pyqtgraph's labels."""
    LABEL_PX = {"left": 16, "right": 16, "top": 44, "bottom": 44}   # room one label takes

    def __init__(self, orientation: str, **kw):
        super().__init__(orientation, **kw)
        self._decades_only = False

    def logTickValues(self, minVal, maxVal, size, stdTicks):
        decades = range(math.ceil(minVal), math.floor(maxVal) + 1)
        self._decades_only = len(decades) > 0
        if not self._decades_only:
            return super().logTickValues(minVal, maxVal, size, stdTicks)
        fit = max(1, int(size // self.LABEL_PX[self.orientation]))
        step = max(1, math.ceil(len(decades) / fit))
        minor = [v + math.log10(k) for v in range(math.floor(minVal), math.ceil(maxVal))
                 for k in range(2, 10)] if step == 1 else []
        return [(float(step), [float(d) for d in decades if d % step == 0]),
                (None, [m for m in minor if minVal < m < maxVal])]

    def logTickStrings(self, values, scale, spacing):
        strings = super().logTickStrings(values, scale, spacing)
        if not self._decades_only:
            return strings
        return [s if abs(v - round(v)) < 1e-9 else "" for v, s in zip(values, strings)]


def bounds(series, positive: bool):
    """(x min, x max, y min, y max) over every series' finite points (y > 0 if positive)."""
    xs0, xs1, ys0, ys1 = [], [], [], []
    for x, y in series:
        if x is None or not len(x):
            continue
        y = np.asarray(y, dtype=float)
        ok = np.isfinite(y) & (y > 0) if positive else np.isfinite(y)
        if not ok.any():
            continue
        xs0.append(float(x[0]))
        xs1.append(float(x[-1]))
        ys0.append(float(y[ok].min()))
        ys1.append(float(y[ok].max()))
    if not xs0:
        return None
    return min(xs0), max(xs1), min(ys0), max(ys1)


STEPS = (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10)


def round_up(x: float) -> float:
    """The smallest of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 x 10^k at least x (x > 0)."""
    if x <= 1:
        return 1.0
    k = 10 ** np.floor(np.log10(x))
    for m in STEPS:
        if m * k >= x:
            return float(m * k)
    return float(10 * k)
