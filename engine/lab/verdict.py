"""A Lab verdict: whether an experiment reproduced its claim, decided by a rule from its own
numbers.

An experiment turns its table into `Check`s: what the claim predicts, the figure measured, the
threshold it must pass, and the raw numbers behind the figure. `judge` makes the verdict from
them by one rule for every experiment: *reproduced* when every check holds, *not reproduced*
when the first (the claim's main prediction) fails, *partly reproduced* otherwise. The verdict's
sentences are generated from the checks, so they quote only numbers that results.json holds.

`Spread` is the mean and standard deviation of a figure over seeds; comparisons between arms
use `clearly_above`, which pairs the arms seed by seed and asks for a gap larger than the spread
of the differences.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, field

REPRODUCED, PARTLY, NOT_REPRODUCED = "reproduced", "partly reproduced", "not reproduced"
VERDICTS = (REPRODUCED, PARTLY, NOT_REPRODUCED)
RULE = ("reproduced when every check holds; not reproduced when the first check (the claim's "
        "main prediction) fails; partly reproduced otherwise")


@dataclass
class Check:
    """One prediction of the claim, tested: `figure` is what was measured, `rule` the
    threshold, `numbers` the raw values the figure quotes."""
    predicts: str
    passed: bool
    figure: str
    rule: str
    numbers: dict = field(default_factory=dict)

    def sentence(self) -> str:
        mark = "holds" if self.passed else "fails"
        return f"{self.predicts}: {self.figure} (rule: {self.rule}) — {mark}."


@dataclass
class Verdict:
    status: str
    checks: list[Check]
    rule: str = RULE

    @property
    def deciding(self) -> Check | None:
        """The check that decides: the first that failed, else the main one."""
        failed = [c for c in self.checks if not c.passed]
        return failed[0] if failed else (self.checks[0] if self.checks else None)

    def headline(self) -> str:
        """'Reproduced. <what the deciding check predicts>: <its figure>.'"""
        check = self.deciding
        what = f" {check.predicts}: {check.figure}." if check else ""
        return f"{self.status[:1].upper()}{self.status[1:]}.{what}"

    def to_dict(self) -> dict:
        return {"status": self.status, "rule": self.rule, "headline": self.headline(),
                "checks": [asdict(c) for c in self.checks]}


def judge(checks: list[Check]) -> Verdict:
    """The verdict of `checks` by RULE (no checks: not reproduced, nothing was measured)."""
    if not checks or not checks[0].passed:
        return Verdict(NOT_REPRODUCED, checks)
    return Verdict(REPRODUCED if all(c.passed for c in checks) else PARTLY, checks)


def unmeasured(predicts: str, why: str) -> Check:
    """A check that could not be made (a stopped run, a missing arm): it fails, saying why."""
    return Check(predicts, False, why, "needs the measurement")


# ----------------------------------------------------------------------------- spreads

@dataclass(frozen=True)
class Spread:
    """A figure over seeds: mean, sample standard deviation (0 for one value) and the values."""
    mean: float
    sd: float
    values: tuple

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)

    def to_dict(self) -> dict:
        return {"mean": self.mean, "sd": self.sd, "values": list(self.values)}


def spread(values) -> Spread | None:
    """The spread of the finite values, or None when there are none."""
    vals = tuple(float(v) for v in values if v is not None and math.isfinite(v))
    if not vals:
        return None
    sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
    return Spread(statistics.fmean(vals), sd, vals)


def gap(a: Spread | None, b: Spread | None) -> Spread | None:
    """The per-seed differences a - b (both measured on the same seeds, in the same order)."""
    if a is None or b is None or a.n != b.n:
        return None
    return spread(x - y for x, y in zip(a.values, b.values))


def clearly_above(a: Spread | None, b: Spread | None, margin: float = 0.0) -> bool:
    """Whether `a` beats `b` beyond noise, seed by seed (each seed is one paired comparison:
    the same initial data order and validation split for both arms): at least two seeds (one
    cannot be told from noise), every seed's difference above `margin`, and their mean above
    twice their standard deviation."""
    d = gap(a, b)
    return d is not None and d.n >= 2 and d.low > margin and d.mean > 2 * d.sd


# ----------------------------------------------------------------------------- formatting

def ahead(d: Spread) -> str:
    """'2.7 ± 0.6 points ahead (at least 2.0 in every seed)' for per-seed differences d."""
    word = "ahead" if d.mean >= 0 else "behind"
    if d.n == 1:
        return f"{abs(d.mean) * 100:.1f} points {word}"
    return (f"{abs(d.mean) * 100:.1f} ± {d.sd * 100:.1f} points {word} (at least "
            f"{d.low * 100:.1f} in every seed)" if d.mean >= 0 else
            f"{abs(d.mean) * 100:.1f} ± {d.sd * 100:.1f} points {word}")


def pct(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}%}"


def pm(s: Spread | None, digits: int = 1, percent: bool = True) -> str:
    """'92.6% ± 0.8 points (3 seeds)', or '0.123 ± 0.004 (3 seeds)'."""
    if s is None:
        return "n/a"
    seeds = f"{s.n} seed{'s' if s.n != 1 else ''}"
    if s.n == 1:
        return f"{s.mean:.{digits}%} ({seeds})" if percent else f"{s.mean:.3g} ({seeds})"
    if percent:
        return f"{s.mean:.{digits}%} ± {s.sd * 100:.{digits}f} points ({seeds})"
    return f"{s.mean:.3g} ± {s.sd:.2g} ({seeds})"
