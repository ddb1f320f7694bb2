"""The targets issue 13 sets for the benches, each with the numbers it was judged on: printed
after a bench's table and written into its results JSON. A target only reports; none is
asserted, and a number a run did not measure (a concurrency it left out) says so."""

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    goal: str  # e.g. ">= 50 %"
    measured: str  # the numbers behind the verdict, e.g. "145.0 / 774.0 req/s = 19 %"
    met: bool | None  # None: not measured in this run
    value: float | None = None  # the ratio (0.19, or 1.8 for "x"), seconds, ...


def ratio(
    name: str,
    numerator: float | None,
    denominator: float | None,
    *,
    at_least: float | None = None,
    at_most: float | None = None,
    unit: str = "%",
    of: str = "req/s",
    missing: str = "",
) -> Target:
    """numerator / denominator against a floor (at_least) or a ceiling (at_most), both given as
    plain ratios (0.5 for 50 %, 2.0 for 2x); unit "%" or "x" says how to print them."""
    bound = at_least if at_least is not None else at_most
    assert bound is not None, "a ratio target needs at_least or at_most"
    goal = f"{'>=' if at_least is not None else '<='} {_show(bound, unit)}"
    if not numerator or not denominator:
        return Target(name, goal, missing or "not measured in this run", None)
    value = numerator / denominator
    met = value >= bound if at_least is not None else value <= bound
    return Target(
        name,
        goal,
        f"{_number(numerator)} / {_number(denominator)} {of} = {_show(value, unit)}",
        met,
        round(value, 3),
    )


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 1000 else f"{value:,.1f}"


def _show(value: float, unit: str) -> str:
    return f"{value:.0%}".replace("%", " %") if unit == "%" else f"{value:.2f}{unit}"


def _say(line: str) -> None:
    print(line)  # noqa: T201


def report(targets: list[Target]) -> list[dict[str, Any]]:
    """Print the targets block; the same targets as JSON-ready dicts."""
    met = sum(1 for t in targets if t.met)
    judged = sum(1 for t in targets if t.met is not None)
    _say(f"\ntargets (issue 13; ratios within this run, never asserted): {met} of {judged} met")
    for t in targets:
        verdict = {True: "met", False: "NOT met", None: "not measured"}[t.met]
        _say(f"- {t.name}: {t.measured}; target {t.goal}: {verdict}")
    return [asdict(t) for t in targets]
