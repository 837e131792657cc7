"""An independent check of a solved portfolio: no Pyomo, no solver (``critmin verify``).

The check reads what a run wrote -- flows.csv, summary.json and results.xlsx,
through the one reader of an output folder (``results.portfolio``) -- and the
run's inputs, and tests every constraint family of docs/model.md from them alone,
with its own arithmetic: one ``check_<family>`` per ``define_<family>`` of
``optimization/build.py``, in the same order, so a new family gets its check
next to its model (``CHECKS``):

1. target        sum_o x[o] + sum_p q[p,m] + r[m] + u[m] >= target[m]
2. country_cap   per stage in cap_stages and foreign c: flows of m through c <= cap[m] * target[m]
3. route_bounds  x[o] <= max_t[o]; x[o] > 0 => x[o] >= min_t[o]
4. equity        q <= offtake * y; y = 1 => q >= min_take * offtake; y = 1 only when available
5. recycling     f = r / recovery <= feedstock; sum_m f <= sum of the built plants' capacity;
                 r >= min_recycling_share * target
6. stockpile     rule mode: s >= days/365 * flows through c at either stage, every foreign c;
                 always s >= min_days[m]/365 * target; stock moves between planned years
7. budget        capex of the stakes and plants <= investment_budget
   choices       force_projects chosen, exclude_projects not
8. policy_limits conflict share, ally shares (mine, refine), any_stage_cap

and what the outputs state, recomputed from the inputs and flows.csv alone:

- ``reported``: every headline figure of summary.json: per mineral and year
  ``target_t``, the tonnes per lever, ``shortfall_t``, ``stock_days``, the
  largest share at each stage and its country (mine blends by their shares);
  ``status`` (an "optimal" run leaves nothing unmet; an infeasible one
  relaxed something), ``mip_gap`` (from the objective and its bound),
  ``warnings`` (a gap above 1e-5 carries the warning), ``projects_chosen``
  and ``plants_built`` (every offtake's project, every committed asset on
  stream, a start year each), the cost of each source in flows.csv, per
  lever and per year;
- ``marginal_values``: what can be checked without a solver: the structure,
  units and signs; a ``country_cap`` price only where that cap binds in the
  flows; a target-row dual only where the target binds; the target price as
  the target row's dual plus the caps' (when no other limit scales with the
  requirement); ``budget`` binding only when the budget is used up to its
  step;
- ``workbook``: the Summary, Supply and Flows sheets of results.xlsx agree
  with the same recomputed figures and with flows.csv; in stochastic mode the
  Summary's risk rows and every row of the Risk sheet agree with the joint
  scenarios evaluated again;
- the objective, recomputed from its parts (market purchases and route fixed
  costs, capex annuities and offtake, plant costs and processing, carrying
  cost; in stochastic mode the expected recourse, which ``results.stress``
  evaluates exactly for the fixed first stage) against the one reported.

``verify_folder`` first refuses (exit 2, located) a folder whose
manifest.json lacks a key it needs or types one wrongly, whose outputs or
inputs differ from their SHA-256 (or whose inputs are not all hashed), or
whose recorded policy is not the run file's: the policy checked against is
always the run file's, with exactly the settings a sweep point recorded it
overrode (manifest.json ``settings``), and the report says which.

Tolerances are scale-aware: a row ``lhs <= rhs`` holds when ``lhs - rhs <=
RTOL * scale + rounding``, ``scale`` being the larger of |lhs| and |rhs| (the
row's own magnitudes) and ``rounding`` what the row's flows.csv numbers may
have lost to that file's 9 decimals (``portfolio.ROUNDING`` per flows.csv
row in it, times the row's coefficient).  There is no absolute tolerance:
a requirement of 1e-6 t with no flows fails as surely as one of 1e6 t.
The objective holds within ``OBJECTIVE_RTOL`` of the larger of the reported
objective and the sum of its parts' magnitudes (plus the rounding of the
flows it prices).  In stochastic mode the reported recourse may exceed the
exact one by the achieved gap (an incumbent's second stage need not be
optimal), never fall below it.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError, Problem
from ..inputs.data import ModelData
from ..inputs.runfile import STAGES
from .columns import total_label
from .optimality import GAP_WARNING_ABOVE, gap_warnings
from .portfolio import (
    MANIFEST,
    ROUNDING,
    Portfolio,
    _unquote,  # noqa: F401  flows.csv is read in results.portfolio (writers.files.safe_text)
    check_inputs,
    check_outputs,
    is_number,
    read_manifest,
    read_portfolio,
    read_summary,
    sha256,
)

__all__ = ["FAMILIES", "Family", "Report", "check", "verify_files", "verify_folder", "format_report", "read_portfolio",
           "read_summary", "read_manifest", "sha256", "Portfolio"]

RTOL = 1e-6  # of the row's own scale
OBJECTIVE_RTOL = 1e-7  # of the objective's scale
# optimization.marginal reports a price below this as 0 (currency per unit): the resolution of marginal_values.
MARGINAL_RESOLUTION = 1e-7
MAX_LISTED = 10  # failing rows listed per family

FAMILIES = ("target", "country_cap", "route_bounds", "equity", "recycling", "stockpile", "budget", "choices",
            "policy_limits", "reported", "marginal_values", "workbook")
LEVERS = ("market", "equity", "recycling", "stockpile", "recourse", "shortfall")


@dataclass
class Family:
    """The rows checked in one family: the largest violation, and the failing rows, located."""

    checked: int = 0
    violation: float = 0.0  # largest lhs - rhs over the rows (0 when every row holds with slack)
    relative: float = 0.0  # that violation over its row's scale
    where: str = ""
    failed: int = 0  # rows beyond tolerance
    failures: list = field(default_factory=list)  # the first MAX_LISTED failing rows, each located

    def add(self, where: str, lhs: float, rhs: float, sense: str = "<=", rounding: float = 0.0) -> None:
        """Record the row ``lhs <= rhs`` (or ``>=``); ``rounding``: what flows.csv's 9 decimals may cost it."""
        excess = lhs - rhs if sense == "<=" else rhs - lhs
        self._row(where, excess, max(abs(lhs), abs(rhs)), rounding,
                  lambda: f"{lhs:.9g} {'>' if sense == '<=' else '<'} {rhs:.9g}")

    def equal(self, where: str, stated: float, computed: float, rounding: float = 0.0,
              what: str = "recomputed") -> None:
        """A stated figure agrees with the recomputed one (one row, both directions)."""
        self._row(where, abs(stated - computed), max(abs(stated), abs(computed)), rounding,
                  lambda: f"states {stated:.12g}, {what} {computed:.12g}")

    def _row(self, where: str, excess: float, scale: float, rounding: float, shown) -> None:
        self.checked += 1
        if math.isnan(excess):
            excess = math.inf
        failed = excess > RTOL * scale + rounding
        relative = excess / scale if scale > 0 else (0.0 if excess <= 0 else math.inf)
        if failed:
            self.failed += 1
            if len(self.failures) < MAX_LISTED:
                self.failures.append(f"{where}: {shown()} (by {excess:.3g}, {relative:.3g} relative)")
        if excess > self.violation:
            self.violation, self.relative, self.where = excess, relative, where

    def agree(self, where: str, stated, expected, what: str = "the flows give") -> bool:
        """A stated value that is not a figure (a country, a status, a list) is what it must be."""
        self.checked += 1
        if _same(stated, expected):
            return True
        self.fail(where, f"states {_show(stated)}, {what} {_show(expected)}")
        return False

    def fail(self, where: str, message: str) -> None:
        """A located statement that is wrong (no figure to measure it by)."""
        self.failed += 1
        if len(self.failures) < MAX_LISTED:
            self.failures.append(f"{where}: {message}")
        if not self.where:
            self.where = where

    @property
    def passed(self) -> bool:
        return self.failed == 0


def _show(value) -> str:
    if isinstance(value, float):
        return f"{value:.12g}"
    return json.dumps(value, default=str) if not isinstance(value, str) else repr(value)


def _same(a, b) -> bool:
    """Equal as JSON values: numbers by value (not bools), lists and objects element by element."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if is_number(a) and is_number(b):
        return float(a) == float(b)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return set(a) == set(b) and all(_same(a[k], b[k]) for k in a)
    return a == b


@dataclass
class Report:
    families: dict[str, Family] = field(default_factory=lambda: {name: Family() for name in FAMILIES})
    reported_objective: float | None = None
    recomputed_objective: float | None = None
    objective_tolerance: float = 0.0
    objective_allowed_excess: float = 0.0  # stochastic mode: the achieved gap times |objective|
    recourse: dict | None = None  # stochastic mode: the reported and the exact expected recourse
    notes: list[str] = field(default_factory=list)

    @property
    def objective_difference(self) -> float | None:
        """reported - recomputed (signed)."""
        if self.reported_objective is None or self.recomputed_objective is None:
            return None
        return self.reported_objective - self.recomputed_objective

    @property
    def objective_passed(self) -> bool:
        difference = self.objective_difference
        return difference is None or (-self.objective_tolerance <= difference
                                      <= self.objective_tolerance + self.objective_allowed_excess)

    @property
    def passed(self) -> bool:
        return all(f.passed for f in self.families.values()) and self.objective_passed

    @property
    def largest_relative(self) -> float:
        return max(f.relative for f in self.families.values())

    def failures(self) -> list[str]:
        lines = []
        for name, f in self.families.items():
            if f.passed:
                continue
            lines.append(f"{name}: {f.failed} row(s) violated" + (
                f", the largest by {f.violation:.6g} ({f.relative:.3g} relative) at {f.where}"
                if f.violation > 0 and f.where in {line.split(": ")[0] for line in f.failures} else ""))
            lines += [f"{name}:   {failure}" for failure in f.failures]
            if f.failed > len(f.failures):
                lines.append(f"{name}:   ... and {f.failed - len(f.failures)} more")
        if not self.objective_passed:
            lines.append(f"objective: summary.json objective: reported {self.reported_objective:,.6f}, recomputed "
                         f"from its parts {self.recomputed_objective:,.6f} (difference "
                         f"{self.objective_difference:.6g}, tolerance {self.objective_tolerance:.3g}"
                         + (f" + {self.objective_allowed_excess:.3g} above" if self.objective_allowed_excess else "")
                         + ")")
        return lines

    def as_dict(self) -> dict:
        return {
            "passed": self.passed,
            "tolerance": {"relative": RTOL, "flows_csv_rounding": ROUNDING, "objective_relative": OBJECTIVE_RTOL},
            "families": {name: dataclasses.asdict(f) | {"passed": f.passed} for name, f in self.families.items()},
            "objective": {"reported": self.reported_objective, "recomputed": self.recomputed_objective,
                          "difference": self.objective_difference, "tolerance": self.objective_tolerance,
                          "allowed_excess": self.objective_allowed_excess, "passed": self.objective_passed},
            "recourse": self.recourse,
            "notes": list(self.notes),
        }


def _crf(rate: float, life_years: float) -> float:
    """Capital recovery factor, computed here again (not imported from the model)."""
    if rate == 0:
        return 1.0 / life_years
    growth = (1.0 + rate) ** life_years
    return rate * growth / (growth - 1.0)


# --------------------------------------------------------------------------- what every check reads


class Context:
    """The data and the portfolio, with the quantities every family's check derives from them."""

    def __init__(self, data: ModelData, portfolio: Portfolio):
        self.data, self.portfolio, self.policy = data, portfolio, data.policy
        self.elastic = portfolio.status == "infeasible"
        self.flows_of = {m: data.flows_of(m) for m in data.minerals}
        self._through: dict[tuple, dict[str, float]] = {}

    def allowed(self, limit: str, m: str, t: int, where: str = "") -> float:
        """Tonnes by which an infeasible run says it relaxed this limit (0 in a solved run)."""
        return self.portfolio.relaxed.get((limit, m, t, where), 0.0) if self.elastic else 0.0

    def flow(self, e, t: int) -> float:
        if self.data.flows[e].is_offtake:
            return self.portfolio.offtake.get((e[0], e[1], t), 0.0)
        return self.portfolio.buy.get((e, t), 0.0)

    def recycled(self, m: str, t: int) -> float:
        return self.portfolio.recycled.get((m, t), 0.0)

    def feed(self, m: str, t: int) -> float:
        """The least feed that yields the recycled tonnes: recycled / recovery_rate."""
        r = self.recycled(m, t)
        if r <= 0:
            return 0.0
        rate = self.data.recycling[m].recovery_rate
        return r / rate if rate > 0 else math.inf

    def built(self, kind: str, name: str, t: int) -> bool:
        return self.portfolio.built(self.data, kind, name, t)

    def rounding(self, m: str, t: int, coefficient: float = 1.0) -> float:
        """What the flows.csv rows of ``m`` in ``t`` may have lost to that file's 9 decimals, times a coefficient."""
        return ROUNDING * self.portfolio.rows_of.get((m, t), 0) * abs(coefficient)

    def market(self, m: str, t: int) -> float:
        return sum(self.flow(o, t) for o in self.data.routes_of(m))  # inactive years carry none (route_bounds)

    def equity(self, m: str, t: int) -> float:
        return sum(self.flow(e, t) for e in self.data.offtakes_of(m))

    def supplied(self, m: str, t: int) -> float:
        return self.market(m, t) + self.equity(m, t) + self.recycled(m, t)

    def through(self, m: str, stage: str, t: int) -> dict[str, float]:
        """Tonnes of ``m`` whose ``stage`` country is each foreign country (a blend by its shares); stage
        "any": each tonne once for every foreign country it is mined or refined in (``any_stage_cap``)."""
        key = (m, stage, t)
        if key not in self._through:
            tonnes: dict[str, float] = {}
            for e in self.flows_of[m]:
                x = self.flow(e, t)
                if stage == "any":
                    countries = set(self.data.stage_shares(e, "mine")) | {self.data.stage_country(e, "refine")}
                    shares = {c: self.data.touch_share(e, c) for c in countries}
                else:
                    shares = self.data.stage_shares(e, stage)
                for c, share in shares.items():
                    if c != self.data.home:
                        tonnes[c] = tonnes.get(c, 0.0) + share * x
            self._through[key] = dict(sorted(tonnes.items()))
        return self._through[key]

    def largest(self, m: str, stage: str, t: int) -> tuple[float, set[str], float]:
        """The largest foreign share of the requirement at ``stage``, the countries within tolerance of it,
        and the rounding allowance of a share."""
        target = self.data.target[m, t]
        shares = {c: (x / target if target > 0 else 0.0) for c, x in self.through(m, stage, t).items() if x > 0}
        top = max(shares.values(), default=0.0)
        rounding = self.rounding(m, t) / target if target > 0 else 0.0
        return top, {c for c, s in shares.items() if top - s <= RTOL * top + 2 * rounding}, rounding

    def headline(self, m: str, t: int) -> dict:
        """summary.json's per-mineral figures recomputed from the data and flows.csv (stock as stated)."""
        data = self.data
        target = data.target[m, t]
        stock = self.portfolio.stock.get((m, t), 0.0)
        market, equity, recycled = self.market(m, t), self.equity(m, t), self.recycled(m, t)
        return dict(unit=data.minerals[m].unit, target_t=target, market_t=market, equity_t=equity,
                    recycled_t=recycled, supplied_t=market + equity + recycled,
                    shortfall_t=max(0.0, target - (market + equity + recycled)), stockpile_t=stock,
                    existing_stock_t=data.minerals[m].existing_stock_t,
                    stock_days=stock / target * 365.0 if target > 0 else 0.0)


# --------------------------------------------------------------------------- one check per family of build.py


def check_target(ctx: Context, family: Family) -> None:
    """1. supply + recycling + shortfall >= target; no shortfall in a strict solve."""
    for t in ctx.data.years:
        for m in ctx.data.minerals:
            shortfall = ctx.portfolio.shortfall.get((m, t), 0.0)
            family.add(f"{m} {t}", ctx.supplied(m, t) + shortfall, ctx.data.target[m, t], ">=", ctx.rounding(m, t))
            if not ctx.elastic and shortfall > 0:
                family.add(f"summary.json by_year.{t}.{m}.shortfall_t in a strict solve", shortfall, 0.0)


def check_country_cap(ctx: Context, family: Family) -> None:
    """2. per stage in cap_stages and foreign country: flows of m through it <= cap[m] * target[m]."""
    for t in ctx.data.years:
        for m in ctx.data.minerals:
            bound = ctx.policy.cap(m) * ctx.data.target[m, t]
            for g in STAGES:
                if g not in ctx.policy.cap_stages:
                    continue
                for c, tonnes in ctx.through(m, g, t).items():
                    family.add(f"{m} {g} {c} {t}", tonnes,
                               bound + ctx.allowed("country cap", m, t, f"{c} at the {g} stage"),
                               rounding=ctx.rounding(m, t))


def check_route_bounds(ctx: Context, family: Family) -> None:
    """3. x <= max_t (0 outside the route's years); x > 0 => x >= min_t."""
    for t in ctx.data.years:
        for o, route in ctx.data.routes.items():
            x = ctx.portfolio.buy.get((o, t), 0.0)
            rounding = ctx.rounding(route.mineral, t)
            family.add(f"{o} max_t {t}", x, route.max_t if route.active(t) else 0.0, rounding=rounding)
            if route.min_t > 0 and x > 0:
                family.add(f"{o} min_t {t}", x, route.min_t, ">=", rounding=rounding)


def check_equity(ctx: Context, family: Family) -> None:
    """4. q <= offtake * y; take-or-pay once on stream; a stake starts no earlier than available_from."""
    data = ctx.data
    for t in data.years:
        for (p, m), offtake in data.offtakes.items():
            q = ctx.portfolio.offtake.get((p, m, t), 0.0)
            y = 1.0 if ctx.built("stake_start", p, t) else 0.0
            family.add(f"{p} {m} offtake {t}", q, offtake.offtake_t * y, rounding=ctx.rounding(m, t))
            if offtake.min_take > 0 and y:
                family.add(f"{p} {m} take-or-pay {t}",
                           q + ctx.allowed("take-or-pay floor of a committed stake", m, t, f"committed stake {p}"),
                           offtake.min_take * offtake.offtake_t, ">=", rounding=ctx.rounding(m, t))
    for p in sorted(ctx.portfolio.stakes):
        begin = ctx.portfolio.start(data, "stake_start", p)
        family.add(f"{p} starts ({begin}) from available_from {data.projects[p].available_from}",
                   float(data.projects[p].available_from), float(begin if begin is not None else 0))


def check_recycling(ctx: Context, family: Family) -> None:
    """5. feed = recycled / recovery <= feedstock; stream feed <= built capacity; recycling share floor."""
    data = ctx.data
    for t in data.years:
        for m, recycling in data.recycling.items():
            if ctx.recycled(m, t) > 0 and recycling.recovery_rate <= 0:
                family.add(f"{m} recycled with recovery_rate 0 ({t})", ctx.recycled(m, t), 0.0)
                continue
            family.add(f"{m} feedstock {t}", ctx.feed(m, t), data.feedstock_t(m, t),
                       rounding=ctx.rounding(m, t, 1.0 / recycling.recovery_rate if recycling.recovery_rate else 1.0))
        for stream, minerals in data.stream_minerals.items():
            rounding = sum(ctx.rounding(m, t, 1.0 / data.recycling[m].recovery_rate)
                           for m in minerals if data.recycling[m].recovery_rate > 0)
            family.add(f"plant capacity of stream {stream} {t}", sum(ctx.feed(m, t) for m in minerals),
                       sum(k.capacity_t for name, k in data.plants.items()
                           if k.stream == stream and ctx.built("plant_start", name, t)), rounding=rounding)
        for m in data.minerals:
            share = ctx.policy.min_recycling_share.get(m, 0.0)
            if share > 0 and not ctx.elastic:
                family.add(f"{m} recycling share {t}", ctx.recycled(m, t), share * data.target[m, t], ">=",
                           rounding=ctx.rounding(m, t))


def check_stockpile(ctx: Context, family: Family) -> None:
    """6. rule mode: s >= days/365 x each foreign exposure (both stages); s >= min_days[m]/365 x target;
    stock moves between planned years (a one-year run is a steady state)."""
    data, policy = ctx.data, ctx.policy
    for t in data.years:
        for m, mineral in data.minerals.items():
            stock = ctx.portfolio.stock.get((m, t), 0.0)
            if policy.stockpile_mode == "rule" and policy.stockpile_days > 0:
                for g in STAGES:
                    for c, tonnes in ctx.through(m, g, t).items():
                        family.add(f"{m} cover of {g} {c} {t}", stock, policy.stockpile_days / 365.0 * tonnes, ">=",
                                   rounding=ctx.rounding(m, t, policy.stockpile_days / 365.0))
            family.add(f"{m} floor {t}", stock + ctx.allowed("stockpile floor (stockpile_min_days)", m, t),
                       data.floor_days(m) / 365.0 * data.target[m, t], ">=")
            if mineral.max_stock_build_t is not None and len(data.years) > 1:
                before = ctx.portfolio.stock.get((m, t - 1), 0.0) if t > data.years[0] else mineral.existing_stock_t
                family.add(f"{m} stock build {t}", stock - before,
                           mineral.max_stock_build_t + ctx.allowed("stock-move limit (max_stock_build_t)", m, t))
    if policy.n_minus_1 and not ctx.elastic:
        _check_n_minus_1(ctx, family)


def _check_n_minus_1(ctx: Context, family: Family) -> None:
    """N-1 security (build.define_n_minus_1): losing any one foreign country at both stages for the
    N-1 horizon leaves at most n_minus_1_unmet_share * target * D/365 unmet, each scenario's cover
    minimised on its own by the exact evaluator (results.stress), as ``stress --n-1`` reports it."""
    from ..inputs.disruptions import n_minus_1
    from .stress import evaluate

    data = ctx.data
    for t in data.years:
        flows = {e: ctx.flow(e, t) for m in data.minerals for e in ctx.flows_of[m]}
        stock = {m: ctx.portfolio.stock.get((m, t), 0.0) for m in data.minerals}
        table = evaluate(data, flows, stock, n_minus_1(data), t)
        for row in table.itertuples():
            allowed = ctx.policy.n_minus_1_unmet_share * data.target[row.mineral, t] * row.duration_days / 365.0
            family.add(f"{row.mineral} N-1 {row.scenario} unmet {t}", row.unmet_t, allowed,
                       rounding=ctx.rounding(row.mineral, t))


def check_budget(ctx: Context, family: Family) -> None:
    """7. capex of the stakes and plants chosen (each once; committed ones are sunk) <= investment_budget."""
    if ctx.policy.investment_budget is not None:
        family.add("investment budget", _capex_spent(ctx), ctx.policy.investment_budget)


def _capex_spent(ctx: Context) -> float:
    data = ctx.data
    return (sum(data.projects[p].capex for p in ctx.portfolio.stakes if not data.projects[p].committed)
            + sum(data.plants[k].capex for k in ctx.portfolio.plants if not data.plants[k].committed))


def check_choices(ctx: Context, family: Family) -> None:
    """force_projects are chosen (or built), exclude_projects are not (build.define_choices)."""
    data, portfolio = ctx.data, ctx.portfolio
    for key, wanted in (("force_projects", True), ("exclude_projects", False)):
        for name in getattr(ctx.policy, key, ()):
            if name in data.projects:
                where, taken = "summary.json projects_chosen", name in portfolio.stakes
            elif name in data.plants:
                where, taken = "summary.json plants_built", name in portfolio.plants
            else:
                continue
            family.checked += 1
            if taken != wanted:
                family.fail(where, f"{'lacks' if wanted else 'lists'} {name}, which policy.{key} "
                                   f"{'forces in' if wanted else 'leaves out'}")


def check_policy_limits(ctx: Context, family: Family) -> None:
    """8. conflict-mined share <= conflict_max_share; home-or-ally share >= ally_min_share (per stage);
    any-stage exposure <= any_stage_cap."""
    data, policy = ctx.data, ctx.policy
    friendly = data.allies | {data.home}
    for t in data.years:
        for m in data.minerals:
            target, flows = data.target[m, t], ctx.flows_of[m]
            rounding = ctx.rounding(m, t)
            if policy.conflict_max_share < 1 and data.conflict:
                tonnes = sum(data.share_in(e, data.conflict) * ctx.flow(e, t) for e in flows)
                family.add(f"{m} conflict share {t}", tonnes, policy.conflict_max_share * target
                           + ctx.allowed("conflict-affected share limit", m, t), rounding=rounding)
            for g in STAGES:
                floor = policy.ally_min_share.get(g, 0.0)
                if floor > 0 and not ctx.elastic:
                    tonnes = sum(sum(share for c, share in data.stage_shares(e, g).items() if c in friendly)
                                 * ctx.flow(e, t) for e in flows)
                    family.add(f"{m} ally share {g} {t}", tonnes + ctx.recycled(m, t), floor * target, ">=",
                               rounding=rounding)
            if policy.any_stage_cap is not None:
                for c, tonnes in ctx.through(m, "any", t).items():
                    family.add(f"{m} any stage {c} {t}", tonnes, policy.any_stage_cap * target
                               + ctx.allowed("any-stage cap", m, t, f"{c} at any stage"), rounding=rounding)


# The constraint families, in build.py's order: a family added there gets its check_<family> here.
CHECKS = (("target", check_target), ("country_cap", check_country_cap), ("route_bounds", check_route_bounds),
          ("equity", check_equity), ("recycling", check_recycling), ("stockpile", check_stockpile),
          ("budget", check_budget), ("choices", check_choices), ("policy_limits", check_policy_limits))


def check(data: ModelData, portfolio: Portfolio) -> Report:
    """Every constraint family, what the outputs state, and the objective, from the data and the portfolio alone."""
    ctx = Context(data, portfolio)
    report = Report()
    if ctx.elastic:
        report.notes.append("infeasible run: the elastic portfolio is checked against every limit, each allowed to "
                            "exceed its bound by no more than the relaxation summary.json states; the recycling "
                            "and ally floors and the objective are elastic there and not checked")
    for name, check_family in CHECKS:
        check_family(ctx, report.families[name])
    costs = _costs(ctx)
    check_reported(ctx, report.families["reported"], costs)
    check_marginal_values(ctx, report.families["marginal_values"])
    _check_risk(ctx, report.families["reported"], costs, report.families["workbook"])
    check_workbook(ctx, report.families["workbook"], costs)
    if not ctx.elastic:
        check_objective(ctx, report, costs)
    return report


# --------------------------------------------------------------------------- costs, recomputed


def _costs(ctx: Context) -> dict:
    """Each lever's annual cost per year and each source's cost, recomputed from the data; with what
    flows.csv's rounding of the tonnes may move each (``rounding``, ``source_rounding``)."""
    data, portfolio = ctx.data, ctx.portfolio
    rate = data.policy.discount_rate
    levers: dict[tuple[str, int], float] = {}
    rounding: dict[tuple[str, int], float] = {}
    sources: dict[tuple, float] = {}
    source_rounding: dict[tuple, float] = {}
    rows = {}
    for row in portfolio.rows:
        key = (row.source_type, "all" if row.source_type == "recycling" else row.source_id, row.year)
        rows[key] = rows.get(key, 0) + 1
    for t in data.years:
        market = market_rounding = 0.0
        for o, route in data.routes.items():
            x = portfolio.buy.get((o, t), 0.0)
            unit = data.unit_cost(o, t)
            cost = unit * x + (route.fixed_cost if route.needs_switch and x > 0 else 0.0)
            market += cost
            n = rows.get(("market", o, t), 0)
            market_rounding += ROUNDING * n * unit
            if x > 0 or n:
                sources["market", o, t] = cost
                source_rounding["market", o, t] = ROUNDING * n * (1.0 + unit)
        equity = equity_rounding = 0.0
        for p, project in data.projects.items():
            on = ctx.built("stake_start", p, t) and not project.committed
            annuity = _crf(rate, project.life_years) * project.capex if on else 0.0
            pms = [pm for pm in data.offtakes if pm[0] == p]
            cost = annuity + sum(data.flow_unit_cost(pm, t) * ctx.flow(pm, t) for pm in pms)
            equity += cost
            n = rows.get(("equity", p, t), 0)
            unit = max((data.flow_unit_cost(pm, t) for pm in pms), default=0.0)
            equity_rounding += ROUNDING * n * unit
            if any(ctx.flow(pm, t) > 0 for pm in pms) or n:
                sources["equity", p, t] = cost
                source_rounding["equity", p, t] = ROUNDING * n * (1.0 + unit)
        plants = sum((0.0 if k.committed else _crf(rate, k.life_years) * k.capex) + k.fixed_cost
                     for name, k in data.plants.items() if ctx.built("plant_start", name, t))
        processing = sum(r.unit_cost * ctx.feed(m, t) for m, r in data.recycling.items())
        per_tonne = max((r.unit_cost / r.recovery_rate for r in data.recycling.values() if r.recovery_rate > 0),
                        default=0.0)
        n = rows.get(("recycling", "all", t), 0)
        if any(ctx.feed(m, t) > 0 for m in data.recycling) or n:
            sources["recycling", "all", t] = plants + processing
            source_rounding["recycling", "all", t] = ROUNDING * n * (1.0 + per_tonne)
        levers["market", t], rounding["market", t] = market, market_rounding
        levers["equity", t], rounding["equity", t] = equity, equity_rounding
        levers["recycling", t], rounding["recycling", t] = plants + processing, ROUNDING * n * per_tonne
        levers["stockpile", t] = sum(mn.holding_cost_rate * data.reference_price(m, t)
                                     * portfolio.stock.get((m, t), 0.0) for m, mn in data.minerals.items())
        levers["shortfall", t] = sum(mn.shortfall_penalty * portfolio.shortfall.get((m, t), 0.0)
                                     for m, mn in data.minerals.items())
        levers["recourse", t] = _recourse(data, portfolio, t)
        for lever in ("stockpile", "shortfall", "recourse"):
            rounding[lever, t] = 0.0
    return {"levers": levers, "rounding": rounding, "sources": sources, "source_rounding": source_rounding}


def _recourse(data: ModelData, portfolio: Portfolio, year: int) -> float:
    """The recourse lever for the fixed portfolio (stochastic mode only), each scenario's recourse minimised
    on its own: the expected extra cost of the events, or with risk_measure = "cvar" the (1 - w) E + w CVaR
    mix over the joint scenarios (results.risk)."""
    if data.policy.stockpile_mode != "stochastic":
        return 0.0
    from .risk import recourse_lever

    flows = {o: portfolio.buy.get((o, year), 0.0) for o in data.routes}
    flows.update({pm: portfolio.offtake.get((pm[0], pm[1], year), 0.0) for pm in data.offtakes})
    stock = {m: portfolio.stock.get((m, year), 0.0) for m in data.minerals}
    return recourse_lever(data, flows, stock, year)


def _check_risk(ctx: Context, family: Family, costs: dict, sheets: Family) -> None:
    """summary.json ``risk`` (stochastic mode): the first-stage cost of its year from the recomputed levers,
    and the expected recourse, VaR and CVaR of the joint scenarios evaluated again on the stated portfolio;
    results.xlsx's Summary risk rows and its Risk sheet (every joint scenario) likewise."""
    block = ctx.portfolio.summary.get("risk")
    if not isinstance(block, dict) or ctx.policy.stockpile_mode != "stochastic" or ctx.elastic:
        return
    from ..inputs.scenarios import joint_scenarios
    from .risk import SUMMARY_ROWS, risk_figures, scenario_outcomes, tail_table

    year = block.get("year")
    if year not in ctx.data.years:
        family.add("summary.json risk.year: a planned year", 1.0, 0.0)
        return
    flows = {e: ctx.flow(e, year) for m in ctx.data.minerals for e in ctx.flows_of[m]}
    stock = {m: ctx.portfolio.stock.get((m, year), 0.0) for m in ctx.data.minerals}
    first_stage = sum(cost for (lever, t), cost in costs["levers"].items() if t == year and lever != "recourse")
    distribution = joint_scenarios(ctx.data)
    outcomes = scenario_outcomes(ctx.data, flows, stock, list(distribution.scenarios), year)
    computed = risk_figures(ctx.data, flows, stock, year, first_stage, distribution, outcomes)
    for key in ("first_stage_cost", "expected_recourse", "var", "cvar"):
        stated = block.get(key)
        if not isinstance(stated, (int, float)) or isinstance(stated, bool):
            family.add(f"summary.json risk.{key}: a number", 1.0, 0.0)
            continue
        family.equal(f"summary.json risk.{key}", stated, computed[key])
    book = ctx.portfolio.workbook
    if book is None:
        return
    for label, key in SUMMARY_ROWS.items():
        cell = book.items.get(label)
        if cell is None:
            sheets.fail("results.xlsx Summary", f"lacks the row {label!r} (stochastic mode)")
        else:
            _cell_equal(sheets, cell, computed[key])
    if book.risk is None:
        sheets.fail("results.xlsx", "lacks the Risk sheet (stochastic mode: every joint scenario)")
        return
    expected = tail_table(outcomes, ctx.policy.cvar_alpha).to_dict("records")
    sheets.agree("results.xlsx Risk rows", len(book.risk), len(expected), "the joint scenarios number")
    for row, want in zip(book.risk, expected):
        sheets.agree(f"results.xlsx {row['scenario'].ref} (scenario)", row["scenario"].value, want["scenario"],
                     "the costliest-first order gives")
        for column in ("probability", "extra_cost", "unmet_t", "tail_share"):
            _cell_equal(sheets, row[column], float(want[column]))


def _discounted(ctx: Context, values: dict, lever: str) -> float:
    return sum(ctx.data.discount(t) * values[lever, t] for t in ctx.data.years)


# --------------------------------------------------------------------------- what summary.json states


def _country(family: Family, where: str, stated, top: float, candidates: set[str]) -> None:
    """The country stated for the largest share is one whose share is the largest (ties: any of them);
    none (null or empty) when no foreign country supplies the mineral."""
    family.checked += 1
    if stated in candidates or (stated in (None, "") and (not candidates or top == 0)):
        return
    shown = ", ".join(sorted(candidates)) or "no foreign country"
    family.fail(where, f"states {_show(stated)}, but the largest foreign share ({top:.6g}) is {shown}'s")


def _achieved_gap(objective, bound) -> float | None:
    """|incumbent - bound| / |incumbent|, as HiGHS defines it (computed here again)."""
    if objective is None or bound is None:
        return None
    if abs(objective) < 1e-12:
        return 0.0 if abs(bound) < 1e-12 else math.inf
    return max(0.0, abs(objective - bound) / abs(objective))


def check_reported(ctx: Context, family: Family, costs: dict) -> None:
    """summary.json's headline figures and flows.csv's costs, recomputed from the inputs and flows.csv alone."""
    data, portfolio = ctx.data, ctx.portfolio
    summary = portfolio.summary
    last = max(data.years)
    # The run as a whole first: what it solved for, whether it solved, what it chose.
    family.agree("summary.json year", summary.get("year"), last, "the run's last planned year is")
    family.agree("summary.json years", summary.get("years"), list(data.years), "the run plans")
    _check_status(ctx, family)
    _check_assets(ctx, family)
    # Per mineral and year: by_year for every planned year, minerals for the last.
    blocks = [(f"by_year.{t}", t, summary["by_year"][str(t)]) for t in data.years] + [("minerals", last,
                                                                                          summary["minerals"])]
    for column, t, entries in blocks:
        for m in data.minerals:
            entry, expected, where = entries[m], ctx.headline(m, t), f"summary.json {column}.{m}"
            family.agree(f"{where}.unit", entry.get("unit"), expected["unit"], "the dataset gives")
            family.equal(f"{where}.target_t", entry["target_t"], expected["target_t"], what="the dataset gives")
            for key in ("market_t", "equity_t", "recycled_t", "supplied_t", "shortfall_t"):
                family.equal(f"{where}.{key}", entry[key], expected[key], ctx.rounding(m, t), "flows.csv gives")
            family.equal(f"{where}.stockpile_t", entry["stockpile_t"], expected["stockpile_t"],
                         what=f"by_year.{t} states")
            family.equal(f"{where}.stock_days", entry["stock_days"], expected["stock_days"],
                         what="stockpile_t / target_t x 365 gives")
            for g in STAGES:
                top, candidates, rounding = ctx.largest(m, g, t)
                family.equal(f"{where}.largest_{g}_share", entry[f"largest_{g}_share"], top, 2 * rounding,
                             "flows.csv gives")
                _country(family, f"{where}.largest_{g}_country", entry[f"largest_{g}_country"], top, candidates)
                part = entry["largest_share"][g]
                family.equal(f"{where}.largest_share.{g}.share", part["share"], top, 2 * rounding, "flows.csv gives")
                _country(family, f"{where}.largest_share.{g}.country", part.get("country"), top, candidates)
    # What each source costs in flows.csv, per lever and per year.
    stated: dict[tuple, float] = {}
    for (kind, source, _m, t), cost in portfolio.row_cost.items():
        key = (kind, "all" if kind == "recycling" else source, t)
        stated[key] = stated.get(key, 0.0) + cost
    for key in sorted(set(stated) | set(costs["sources"]), key=str):
        family.equal(f"flows.csv cost of {key[0]} {key[1]} {key[2]}", stated.get(key, 0.0),
                     costs["sources"].get(key, 0.0), costs["source_rounding"].get(key, 0.0))
    skipped = ("recourse", "shortfall") if ctx.elastic else ("recourse",)
    for lever in LEVERS:
        if lever not in portfolio.cost_by_lever:
            family.fail(f"summary.json cost_by_lever.{lever}", "missing: every lever of the objective is stated")
        elif lever not in skipped:
            # cost_by_lever counts each year as the objective does: discounted to the first year
            family.equal(f"summary.json cost_by_lever.{lever}", portfolio.cost_by_lever[lever],
                         _discounted(ctx, costs["levers"], lever), _discounted(ctx, costs["rounding"], lever))
    for lever in sorted(set(portfolio.cost_by_lever) - set(LEVERS)):
        family.fail(f"summary.json cost_by_lever.{lever}", "not a lever of the objective")
    for t in data.years:
        year = portfolio.cost_by_year.get(t)
        if year is None:
            family.fail(f"summary.json cost_by_year.{t}", "missing: every planned year's cost is stated")
            continue
        for lever in sorted(set(year) | set(LEVERS)):
            if lever not in LEVERS or lever not in year:
                family.fail(f"summary.json cost_by_year.{t}.{lever}", "not a lever of the objective"
                            if lever not in LEVERS else "missing: every lever of the objective is stated")
            elif lever not in skipped:
                family.equal(f"summary.json cost_by_year.{t}.{lever}", year[lever], costs["levers"][lever, t],
                             costs["rounding"][lever, t])


def _check_status(ctx: Context, family: Family) -> None:
    """status, objective, objective_bound, mip_gap and warnings agree with one another and with the flows."""
    data, portfolio = ctx.data, ctx.portfolio
    summary, status = portfolio.summary, portfolio.status
    objective, bound, gap = portfolio.objective, portfolio.bound, portfolio.mip_gap
    family.checked += 1
    if status in ("optimal", "time_limit"):
        for t in data.years:
            for m in data.minerals:
                unmet = data.target[m, t] - ctx.supplied(m, t)
                if unmet > RTOL * data.target[m, t] + ctx.rounding(m, t):
                    family.fail("summary.json status", f"states {status!r}, but flows.csv leaves {unmet:.6g} t of "
                                                       f"{m} unmet in {t}: a solved run meets every target")
        if "diagnosis" in summary:
            family.fail("summary.json diagnosis", f"a {status} run has no diagnosis (only an infeasible one)")
        computed = _achieved_gap(objective, bound)
        family.checked += 1
        if gap is None:
            if computed is not None and math.isfinite(computed):
                family.fail("summary.json mip_gap", f"is null, but objective and objective_bound give {computed:.6g}")
        elif computed is None:
            family.fail("summary.json mip_gap", f"states {gap:.6g} without an objective and its bound")
        elif not math.isfinite(computed):
            family.fail("summary.json mip_gap", f"states {gap:.6g}, but the objective is 0 and its bound is not: "
                                                "the gap is infinite")
        else:
            family.equal("summary.json mip_gap", gap, computed, what="objective and objective_bound give")
        if objective is not None and bound is not None:
            family.add("summary.json objective_bound <= objective (the bound of a minimization)", bound, objective)
        effective = gap if gap is not None else computed
    else:
        if objective is not None:
            family.fail("summary.json objective", "an infeasible run states no objective (null): see diagnosis")
        if bound is not None:
            family.fail("summary.json objective_bound", "an infeasible run states no bound (null)")
        if not any(tonnes > 0 for tonnes in portfolio.relaxed.values()):
            family.fail("summary.json status", "states 'infeasible', but diagnosis.relaxed relaxes no limit: a run "
                                               "that needs no relaxation is solved")
        effective = gap
    family.checked += 1
    missing = [warning for warning in gap_warnings(status, effective) if warning not in portfolio.warnings]
    if missing:
        shown = "unknown" if effective is None else f"{effective:.3g}"
        family.fail("summary.json warnings", f"lacks the warning a run stopped at gap {shown} must carry "
                                             f"(above {GAP_WARNING_ABOVE:g}, or unproven): {missing[0]!r}")


def _check_assets(ctx: Context, family: Family) -> None:
    """projects_chosen / plants_built: every project with offtake, every committed asset on stream (from
    max(first year, available_from)), and nothing committed that is not."""
    data, portfolio = ctx.data, ctx.portfolio
    first, last = data.years[0], data.years[-1]
    for kind, assets, chosen, starts, key in (("stake_start", data.projects, portfolio.stakes, portfolio.project_start,
                                               "projects_chosen"),
                                              ("plant_start", data.plants, portfolio.plants, portfolio.plant_start,
                                               "plants_built")):
        starts_key = "project_start_years" if kind == "stake_start" else "plant_start_years"
        for name, asset in assets.items():
            if not asset.committed:
                continue
            family.checked += 1
            begin = max(first, asset.available_from if kind == "stake_start" else data.plant_from(name))
            if begin <= last and name not in chosen:
                family.fail(f"summary.json {key}", f"lacks {name}, committed and on stream from {begin}")
            elif begin > last and name in chosen:
                family.fail(f"summary.json {key}", f"lists {name}, committed but not on stream before {last + 1}")
            elif name in chosen and starts.get(name) != begin:
                family.fail(f"summary.json {starts_key}.{name}",
                            f"states {starts.get(name)}, but a committed asset is on stream from {begin}")
    offtaken = {}
    for (p, m, t), q in sorted(portfolio.offtake.items(), key=lambda item: item[0][2]):
        if q > 0:
            offtaken.setdefault(p, (m, t))
    for p, (m, t) in offtaken.items():
        family.checked += 1
        if p not in portfolio.stakes:
            family.fail("summary.json projects_chosen", f"lacks {p}, whose {m} offtake flows.csv lists in {t}")
    for t in data.years:
        for stream, minerals in data.stream_minerals.items():
            recycled = [m for m in minerals if ctx.recycled(m, t) > 0]
            family.checked += 1
            if recycled and not any(k.stream == stream and ctx.built("plant_start", name, t)
                                    for name, k in data.plants.items()):
                family.fail("summary.json plants_built", f"lists no plant of the {stream} stream on stream in {t}, "
                                                         f"but flows.csv recycles {', '.join(recycled)} then")


# --------------------------------------------------------------------------- marginal values


def check_marginal_values(ctx: Context, family: Family) -> None:
    """summary.json marginal_values, as far as they can be checked without a solver.

    Structure (every mineral priced, numbers finite, units stated), signs (a
    cap price and the budget's are savings, positive; a day of cover costs),
    and complementary slackness against the flows: a ``country_cap`` price
    only where that cap binds; a target-row dual only where the target binds;
    a ``stockpile_days`` price only where a cover row binds.  The prices are
    the duals of the LP with the portfolio's binaries fixed, whose optimum
    lies between the solver's bound and the portfolio's cost, so each price
    times its row's slack in the flows is at most the achieved gap times the
    objective (``_slack_cost``): exactly 0 for a proven optimum, and not
    checked without a bound.  The budget binds only when its step is real:
    the cheaper portfolio's capex (budget + step_extra_budget) is more than
    the budget and no more than every asset's together, value = saved /
    extra.  When no other limit scales with the requirement, the target price
    is the target row's dual plus the caps' (docs/model.md "Marginal values"): each
    cap's dual is ``-100 x price / target``, times the cap, summed; plus the
    stock floor's ``min_days/365`` times its dual where the flows tell it
    (``_floor_term``).
    """
    data, policy, portfolio = ctx.data, ctx.policy, ctx.portfolio
    values = portfolio.marginal
    where = "summary.json marginal_values"
    if values is None:
        return  # not computed (an infeasible run, or a command that does not price limits)
    if ctx.elastic:
        family.fail(where, "an infeasible run has no marginal values (null)")
        return
    t = max(data.years)
    family.agree(f"{where}.year", values.get("year"), t, "the run's last planned year is")
    prices = {}
    for key in ("target", "target_row_dual", "stockpile_days"):
        block = values.get(key)
        if not isinstance(block, dict):
            family.fail(f"{where}.{key}", "must be an object: one entry per mineral")
            block = {}
        family.agree(f"{where}.{key}", sorted(block), sorted(data.minerals), "the dataset's minerals are")
        prices[key] = {}
        for m, v in block.items():
            nullable = key == "stockpile_days" and (policy.stockpile_days <= 0 or policy.stockpile_mode != "rule")
            if nullable:
                if v is not None:
                    family.fail(f"{where}.{key}.{m}", f"states {_show(v)}, but without a stockpile_days rule there "
                                                      "is no day of cover to price (null)")
            elif not is_number(v):
                family.fail(f"{where}.{key}.{m}", f"must be a finite number ({_show(v)})")
            elif m in data.minerals:
                prices[key][m] = float(v)
    units = values.get("units")
    family.checked += 1
    if not (isinstance(units, dict) and all(isinstance(units.get(k), str) and units.get(k)
                                            for k in ("target", "country_cap", "budget", "stockpile_days"))):
        family.fail(f"{where}.units", "must state the unit of target, country_cap, budget and stockpile_days")
    caps = _check_cap_prices(ctx, family, values.get("country_cap"), t)
    for m, value in prices["target_row_dual"].items():
        target, supplied = data.target[m, t], ctx.supplied(m, t)
        scale = max(abs(value), abs(prices["target"].get(m, 0.0)))
        family.add(f"{where}.target_row_dual.{m} >= 0 (a requirement's dual)", value, 0.0, ">=",
                   RTOL * scale + MARGINAL_RESOLUTION)
        # a tonne of surplus at the target row's dual costs dual x surplus (discounted like the objective)
        _slack_cost(ctx, family, f"{where}.target_row_dual.{m}", value * data.discount(t),
                    supplied - target, ctx.rounding(m, t),
                    f"states {value:.6g}, but the target does not bind (flows.csv supplies {supplied:.9g} t of "
                    f"{target:.9g})")
    for m, value in prices["stockpile_days"].items():
        family.add(f"{where}.stockpile_days.{m} >= 0 (a day of cover costs)", value, 0.0, ">=", MARGINAL_RESOLUTION)
        exposure = max([x for g in STAGES for x in ctx.through(m, g, t).values()], default=0.0)
        rule = policy.stockpile_days / 365.0 * exposure
        stock = portfolio.stock.get((m, t), 0.0)
        # value = sum_rows dual x F / 365 <= (sum_rows dual) x rule / days, and every cover row is slack by
        # at least stock - rule: their duals cost at least value x days / rule per tonne of that slack
        if rule > 0:
            _slack_cost(ctx, family, f"{where}.stockpile_days.{m}",
                        value * policy.stockpile_days / rule * data.discount(t), stock - rule,
                        ctx.rounding(m, t, policy.stockpile_days / 365.0),
                        f"states {value:.6g}, but the stock ({stock:.9g} t) is above what the rule asks "
                        f"({rule:.9g} t): no cover row binds")
    # target = target row's dual + sum over the caps of cap x dual, dual = -100 price / target (+ the stock
    # floor's term, below), when nothing else scales with the requirement (recycling, conflict and ally shares).
    others = (policy.conflict_max_share < 1
              or any(v > 0 for v in policy.ally_min_share.values()))
    exposures = data.exposures(STAGES)
    for m, value in prices["target"].items():
        if others or policy.min_recycling_share.get(m, 0.0) > 0 or m not in prices["target_row_dual"]:
            continue
        target = data.target[m, t]
        if target <= 0:
            continue
        floor = _floor_term(ctx, prices, m, t)
        if floor is None:
            continue
        terms = [-100.0 * cap * price / target for cap, price in caps.get(m, [])]
        computed = prices["target_row_dual"][m] + sum(terms) + floor
        scale = sum(abs(x) for x in terms) + abs(prices["target_row_dual"][m]) + abs(value)
        # a price below MARGINAL_RESOLUTION is stated as 0 (a cap's omitted): each row may hide that much
        rows = sum(1 for (mm, g, c) in exposures if mm == m and g in policy.cap_stages)
        rows += len(ctx.through(m, "any", t)) if policy.any_stage_cap is not None else 0
        omitted = MARGINAL_RESOLUTION * (2 + 100.0 * rows * max(policy.cap(m), policy.any_stage_cap or 0.0) / target)
        family.equal(f"{where}.target.{m}", value, computed, RTOL * scale + omitted + RTOL * abs(floor),
                     f"target_row_dual.{m}, the country_cap.{m} prices and the stock floor give")
    _check_budget_price(ctx, family, values)


def _floor_term(ctx: Context, prices: dict, m: str, t: int) -> float | None:
    """The stock floor's part of m's target price, min_days/365 x the floor row's dual, where the flows
    tell it: 0 when the stock is above the floor; the carrying cost of a tonne of stock when the stock sits
    on the floor and nothing else holds it there (one planned year, rule mode, no cover row priced).  None
    when it cannot be told without a solver (the recourse, a cover row or a stock move also price the stock)."""
    data, policy = ctx.data, ctx.policy
    days = data.floor_days(m)
    if days <= 0:
        return 0.0
    level = days / 365.0 * data.target[m, t]
    stock = ctx.portfolio.stock.get((m, t), 0.0)
    if stock > level * (1 + RTOL) + ctx.rounding(m, t) + MARGINAL_RESOLUTION:
        return 0.0
    if len(data.years) > 1 or policy.stockpile_mode != "rule" or prices["stockpile_days"].get(m, 0.0) > 0:
        return None
    mineral = data.minerals[m]
    return days / 365.0 * mineral.holding_cost_rate * data.reference_price(m, t)


def _check_cap_prices(ctx: Context, family: Family, block, t: int) -> dict[str, list[tuple[float, float]]]:
    """country_cap prices: mineral -> stage (a capped one, or "any") -> foreign country -> price > 0, each
    only where that cap binds in the flows.  Returns mineral -> [(cap, price)]."""
    data, policy = ctx.data, ctx.policy
    where = "summary.json marginal_values.country_cap"
    found: dict[str, list[tuple[float, float]]] = {}
    if not isinstance(block, dict):
        family.fail(where, "must be an object: mineral -> stage -> country -> price")
        return found
    stages = set(policy.cap_stages) | ({"any"} if policy.any_stage_cap is not None else set())
    for m, by_stage in block.items():
        family.checked += 1
        if m not in data.minerals or not isinstance(by_stage, dict):
            family.fail(f"{where}.{m}", "not a mineral of this dataset with an object of stages")
            continue
        for stage, by_country in by_stage.items():
            if stage not in stages or not isinstance(by_country, dict):
                family.fail(f"{where}.{m}.{stage}", "not a capped stage of this run ("
                            + ", ".join(sorted(stages)) + ") with an object of countries")
                continue
            cap = policy.any_stage_cap if stage == "any" else policy.cap(m)
            bound = cap * data.target[m, t]
            for c, price in by_country.items():
                at = f"{where}.{m}.{stage}.{c}"
                family.checked += 1
                if not is_number(price) or price <= 0:
                    family.fail(at, f"must be a finite number > 0 (annual cost saved by a point more cap): "
                                    f"{_show(price)}")
                    continue
                tonnes = ctx.through(m, stage, t).get(c, 0.0)
                if c == data.home:
                    family.fail(at, "prices a cap on the home country, which is never capped")
                    continue
                # the cap's dual per tonne is 100 x price / target: times the cap's slack in the flows
                if data.target[m, t] > 0:
                    _slack_cost(ctx, family, at, 100.0 * price / data.target[m, t] * data.discount(t),
                                bound - tonnes, ctx.rounding(m, t),
                                f"prices a cap that does not bind: flows.csv gives {tonnes:.9g} t through {c}, "
                                f"the cap allows {bound:.9g} t")
                found.setdefault(m, []).append((cap, float(price)))
    return found


def _slack_cost(ctx: Context, family: Family, where: str, dual: float, slack: float, rounding: float,
                message: str) -> None:
    """Complementary slackness to the run's gap: a row's dual (per unit of its bound, discounted as the
    objective) times its slack in the flows is at most the achieved gap times |objective|, plus the
    flows' rounding at that price and ``OBJECTIVE_RTOL`` of the objective; not checked without a gap."""
    gap, objective = ctx.portfolio.mip_gap, ctx.portfolio.objective
    if gap is None or objective is None or not math.isfinite(gap):
        return
    family.checked += 1
    allowed = (gap + OBJECTIVE_RTOL) * abs(objective) + abs(dual) * rounding
    if dual != 0 and slack > 0 and abs(dual) * slack > allowed:
        family.fail(where, f"{message}; at this price the slack costs {abs(dual) * slack:.6g}, more than the "
                           f"run's gap allows ({allowed:.6g})")


def _check_budget_price(ctx: Context, family: Family, values: dict) -> None:
    data, policy = ctx.data, ctx.policy
    where = "summary.json marginal_values.budget"
    budget = values.get("budget")
    family.checked += 1
    if policy.investment_budget is None or not (data.projects or data.plants):
        if budget is not None:
            family.fail(where, "states a budget price, but the run has no budget (or nothing to invest in): null")
        return
    if budget is None:
        return  # the budget's step re-solve found no incumbent: no price stated
    if not isinstance(budget, dict) or not all(is_number(budget.get(k)) for k in ("value", "limit", "used")) \
            or not isinstance(budget.get("binding"), bool):
        family.fail(where, "must be an object with value, limit, used (numbers) and binding (true or false)")
        return
    value, spent = float(budget["value"]), _capex_spent(ctx)
    family.equal(f"{where}.limit", budget["limit"], policy.investment_budget, what="the run file gives")
    family.equal(f"{where}.used", budget["used"], spent, what="the capex of projects_chosen and plants_built gives")
    family.add(f"{where}.value >= 0 (budget saves)", value, 0.0, ">=")
    family.agree(f"{where}.binding", budget["binding"], value > 0, "its value gives")
    if value <= 0:
        return
    saved, extra = budget.get("step_cost_saved"), budget.get("step_extra_budget")
    if not (is_number(saved) and is_number(extra) and saved > 0 and extra > 0):
        family.fail(where, "binds, so it must state step_cost_saved and step_extra_budget (> 0)")
        return
    family.equal(f"{where}.value", value, saved / extra, what="step_cost_saved / step_extra_budget gives")
    # The step is to the portfolio chosen without the budget: its capex, budget + extra, is a real portfolio's,
    # so no more than every asset that could start in a planned year taken together.
    everything = (sum(p.capex for name, p in data.projects.items()
                      if not p.committed and data.project_available(name, max(data.years)))
                  + sum(k.capex for k in data.plants.values() if not k.committed))
    family.add(f"{where}.binding: budget + step_extra_budget <= the capex of every asset together",
               policy.investment_budget + extra, everything)


# --------------------------------------------------------------------------- results.xlsx


def _describe(value) -> str:
    """A policy value as the Summary sheet shows it (writers.excel); a flag stays a flag (a boolean cell)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, dict):
        return ", ".join(f"{k} = {_describe(v)}" for k, v in value.items()) or "none"
    if isinstance(value, (list, tuple, set)):
        return ", ".join(_describe(v) for v in value) or "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _cell_equal(family: Family, cell, expected: float, rounding: float = 0.0, what: str = "recomputed") -> None:
    if not is_number(cell.value):
        family.fail(f"results.xlsx {cell.ref}", f"states {_show(cell.value)} where a number belongs "
                                                f"({what} {expected:.12g})")
    else:
        family.equal(f"results.xlsx {cell.ref}", float(cell.value), expected, rounding, what)


def check_workbook(ctx: Context, family: Family, costs: dict) -> None:
    """results.xlsx's Summary, Supply and Flows sheets agree with the recomputed figures and flows.csv."""
    book = ctx.portfolio.workbook
    if book is None:
        return
    data, portfolio, summary = ctx.data, ctx.portfolio, ctx.portfolio.summary
    last = max(data.years)

    def item(label: str):
        cell = book.items.get(label)
        if cell is None:
            family.fail("results.xlsx Summary", f"lacks the row {label!r}")
        return cell

    for label, expected in (("run", data.run.name), ("status", portfolio.status), ("planned year", last),
                            ("equity stakes taken", ", ".join(summary["projects_chosen"]) or "none"),
                            ("recycling plants built", ", ".join(summary["plants_built"]) or "none")):
        cell = item(label)
        if cell is not None:
            family.agree(f"results.xlsx {cell.ref} ({label})", cell.value, expected,
                         "summary.json and the run give")
    family.agree("results.xlsx Summary WARNING rows", [c.value for c in book.warnings], portfolio.warnings,
                 "summary.json warnings state")
    total_row = total_label(len(data.years) > 1, ctx.elastic)  # a pathway's total is a present value
    if ctx.elastic:
        diagnosis = summary.get("diagnosis") or {}
        objective = diagnosis.get("elastic_objective")
    else:
        objective = portfolio.objective
    for label, stated in ((total_row, objective), ("achieved MIP gap", portfolio.mip_gap),
                          ("objective bound", portfolio.bound)):
        cell = item(label)
        if cell is None:
            continue
        if stated is None or not is_number(stated):
            family.agree(f"results.xlsx {cell.ref} ({label})", cell.value, None, "summary.json states")
        else:
            _cell_equal(family, cell, float(stated), what="summary.json states")
    # Annual cost by lever: recomputed (recourse and an elastic run's penalty as summary.json states them).
    skipped = ("recourse", "shortfall") if ctx.elastic else ("recourse",)
    total = 0.0
    for lever in LEVERS:
        stated = portfolio.cost_by_lever.get(lever, 0.0)
        computed = stated if lever in skipped else _discounted(ctx, costs["levers"], lever)
        total += computed
        cell = book.levers.get(lever)
        if cell is None:
            if computed and lever not in ("shortfall", "recourse"):
                family.fail("results.xlsx Summary", f"lacks the cost of the {lever} lever")
            continue
        _cell_equal(family, cell, computed, _discounted(ctx, costs["rounding"], lever))
    if "total" not in book.levers:
        family.fail("results.xlsx Summary", "lacks the total annual cost by lever")
    else:
        _cell_equal(family, book.levers["total"], total,
                    sum(_discounted(ctx, costs["rounding"], lever) for lever in LEVERS))
    # Policy settings: the run file's (with the recorded settings), as verified against.
    for key in (f.name for f in dataclasses.fields(ctx.policy)):
        value = getattr(ctx.policy, key)
        cell = book.policy.get(key)
        if cell is None:
            family.fail("results.xlsx Summary", f"lacks the policy setting {key}")
        elif is_number(value):
            _cell_equal(family, cell, float(value), what="the run file gives")
        else:
            family.agree(f"results.xlsx {cell.ref} ({key})", cell.value,
                         "none" if value is None else _describe(value), "the run file gives")
    family.agree("results.xlsx Summary: Minerals at a glance year", book.glance_year, last, "the run's last year is")
    _workbook_minerals(ctx, family, book.glance, {"Summary": last})
    _workbook_minerals(ctx, family, book.supply, None)
    _workbook_flows(ctx, family, book.flows)


def _workbook_minerals(ctx: Context, family: Family, rows: list[dict], glance: dict | None) -> None:
    """The glance block (the last year) or the Supply sheet (every year): one row per mineral and year."""
    data = ctx.data
    sheet = "Summary" if glance else "Supply"
    seen = set()
    for row in rows:
        mineral = row.get("mineral")
        year = glance["Summary"] if glance else (row["year"].value if "year" in row else None)
        m = mineral.value if mineral is not None else None
        if m not in data.minerals or year not in data.years or (m, year) in seen:
            ref = mineral.ref if mineral is not None else sheet
            family.fail(f"results.xlsx {ref}", f"a row for {_show(m)} {_show(year)}: not a mineral and planned "
                                               "year of this run, or one listed twice")
            continue
        seen.add((m, year))
        expected = ctx.headline(m, year)
        rounding = ctx.rounding(m, year)
        for key, cell in row.items():
            if key in ("market_t", "equity_t", "recycled_t", "supplied_t", "shortfall_t"):
                _cell_equal(family, cell, expected[key], rounding, "flows.csv gives")
            elif key in ("target_t", "existing_stock_t"):
                _cell_equal(family, cell, expected[key], what="the dataset gives")
            elif key in ("stockpile_t", "stock_days"):
                _cell_equal(family, cell, expected[key], what="summary.json gives")
            elif key == "unit":
                family.agree(f"results.xlsx {cell.ref} (unit)", cell.value, expected["unit"], "the dataset gives")
            elif key.startswith("largest_") and key.endswith(("_share", "_country")):
                stage = key.split("_")[1]
                if stage not in ("mine", "refine", "any"):
                    continue
                top, candidates, share_rounding = ctx.largest(m, stage, year)
                if key.endswith("_share"):
                    _cell_equal(family, cell, top, 2 * share_rounding, "flows.csv gives")
                else:
                    _country(family, f"results.xlsx {cell.ref} ({key})", cell.value, top, candidates)
    for m in data.minerals:
        for t in ([glance["Summary"]] if glance else data.years):
            family.checked += 1
            if (m, t) not in seen:
                family.fail(f"results.xlsx {sheet}", f"lacks the row of {m} {t}")


def _workbook_flows(ctx: Context, family: Family, rows: list[dict]) -> None:
    """The Flows sheet holds flows.csv's rows (flows.csv rounds to 9 decimals)."""
    expected = {(r.year, r.mineral, r.source_type, r.source_id, r.mine_country): r for r in ctx.portfolio.rows}
    seen = set()
    for row in rows:
        cells = {c: row[c].value if c in row else None for c in ("year", "mineral", "source_type", "source_id",
                                                                  "mine_country", "refine_country")}
        key = (cells["year"], cells["mineral"], cells["source_type"], cells["source_id"], cells["mine_country"])
        ref = row["source_id"].ref if "source_id" in row else "Flows"
        if key not in expected or key in seen:
            family.fail(f"results.xlsx {ref}", f"the flow {' '.join(_show(k) for k in key)} is not a row of "
                                               "flows.csv (or is listed twice)")
            continue
        seen.add(key)
        flow = expected[key]
        family.agree(f"results.xlsx {row['refine_country'].ref} (refine_country)", cells["refine_country"],
                     flow.refine_country, "flows.csv states")
        _cell_equal(family, row["tonnes"], flow.tonnes, ROUNDING, f"flows.csv line {flow.line} states")
        _cell_equal(family, row["cost"], flow.cost, ROUNDING, f"flows.csv line {flow.line} states")
    for key, flow in expected.items():
        family.checked += 1
        if key not in seen:
            family.fail("results.xlsx Flows", f"lacks the flow of flows.csv line {flow.line} "
                                              f"({' '.join(str(k) for k in key)})")


# --------------------------------------------------------------------------- the objective


def check_objective(ctx: Context, report: Report, costs: dict) -> None:
    """The reported objective against its parts recomputed (discounted to the first year)."""
    levers, portfolio = costs["levers"], ctx.portfolio
    first_stage = sum(_discounted(ctx, levers, lever) for lever in LEVERS if lever != "recourse")
    magnitude = sum(ctx.data.discount(t) * abs(levers[lever, t]) for lever in LEVERS for t in ctx.data.years)
    exact_recourse = _discounted(ctx, levers, "recourse")
    rounding = sum(_discounted(ctx, costs["rounding"], lever) for lever in LEVERS)
    reported = portfolio.objective
    scale = max(abs(reported) if reported is not None else 0.0, magnitude)
    report.reported_objective = reported
    report.recomputed_objective = first_stage + exact_recourse
    report.objective_tolerance = OBJECTIVE_RTOL * scale + rounding
    if ctx.policy.stockpile_mode == "stochastic":
        # An incumbent's second stage need not be optimal for its first stage: the reported
        # objective may exceed first stage + exact recourse by the achieved gap, never fall below.
        report.objective_allowed_excess = (portfolio.mip_gap or 0.0) * abs(reported or 0.0)
        stated = portfolio.cost_by_lever.get("recourse")
        report.recourse = {"reported": stated, "exact": exact_recourse}
        if stated is not None:
            report.families["reported"].equal("summary.json cost_by_lever.recourse + first stage = objective",
                                              first_stage + stated, reported or 0.0, rounding)
    if len(ctx.data.years) > 1:
        report.notes.append("several planned years: the objective discounts each year's cost to the first year")


# --------------------------------------------------------------------------- a folder


def _toml(value) -> str:
    """A JSON value as TOML text (a recorded setting, read back as ``--set`` reads it)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {_toml(v)}" for k, v in value.items()) + "}"
    raise ValueError("null is not a setting")


def load_recorded(manifest: dict) -> tuple[ModelData, list[str]]:
    """The run file manifest.json names, with exactly the settings and overrides it records, and its dataset.

    ``overrides`` (every ``set`` and ``--set`` string in the order applied) begins with the run file's own
    ``set`` entries, which loading the run file applies; the rest (a ``--set`` given to the command: policy,
    demand or data overrides) are applied here as ``--set`` applies them.  Without such, ``settings``
    (dotted key -> value, e.g. a sweep point's) is applied, each validated as ``--set`` validates it.  The
    report says which were applied."""
    from ..inputs.data import prepare
    from ..inputs.runfile import load_run
    from ..inputs.settings import parse_overrides, parse_setting, with_overrides, with_settings
    from ..inputs.validate import load_dataset

    run = load_run(Path(manifest["run_file"]))
    problems, settings, extra = [], {}, []
    own = [o.text for o in run.overrides]
    recorded_overrides = manifest.get("overrides")
    if recorded_overrides is not None:
        if recorded_overrides[:len(own)] != own:
            problems.append(Problem(MANIFEST, None, "overrides", "does not begin with the run file's own set "
                                    "entries, in order", "; ".join(own) or "none"))
        else:
            extra = recorded_overrides[len(own):]
            try:
                run = with_overrides(run, parse_overrides(extra, where=MANIFEST))
            except InputError as error:
                problems += [Problem(MANIFEST, None, f"overrides ({p.column})" if p.column else "overrides",
                                     p.message, p.value) for p in error.problems]
    for key, value in ({} if extra else (manifest.get("settings") or {})).items():
        try:
            setting = parse_setting(f"{key}={_toml(value)}", where=MANIFEST, sweep=False)
        except InputError as error:
            problems += [Problem(MANIFEST, None, f"settings.{key}", p.message, p.value) for p in error.problems]
            continue
        except (ValueError, OverflowError) as error:
            problems.append(Problem(MANIFEST, None, f"settings.{key}", str(error)))
            continue
        settings[setting.key] = setting.values[0]
    if Path(manifest["dataset"]).resolve() != Path(run.data).resolve():
        problems.append(Problem(MANIFEST, None, "dataset", f"is not the dataset the run file names ({run.data})",
                                manifest["dataset"]))
    if problems:
        raise InputError(problems)
    if settings:
        try:
            run = with_settings(run, settings)
        except InputError as error:
            raise InputError([Problem(MANIFEST, None, f"settings.{p.column}" if p.column else "settings",
                                      p.message, p.value) for p in error.problems]) from None
    data = prepare(load_dataset(run.data), run)
    applied = ([f"the overrides it records ({'; '.join(extra)})"] if extra else []) + (
        ["the settings it records (manifest.json settings): "
         + "; ".join(f"{k} = {_show(v)}" for k, v in settings.items())] if settings else [])
    notes = [f"policy and data: the run file's ({run.path})" + (", with " + " and ".join(applied) if applied else "")]
    return data, notes


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


def check_recorded_policy(manifest: dict, data: ModelData) -> None:
    """The policy manifest.json records is the run file's with its recorded settings, key by key;
    verify checks the portfolio against the run file's, never against the record alone."""
    recorded = manifest["policy"]
    actual = {f.name: _plain(getattr(data.policy, f.name)) for f in dataclasses.fields(data.policy)}
    what = "the run file" + (" with the settings and overrides manifest.json records"
                             if manifest.get("settings") or manifest.get("overrides") else "")
    problems = []
    for key, value in actual.items():
        if key not in recorded:
            problems.append(Problem(MANIFEST, None, f"policy.{key}",
                                    "is missing: the manifest records every policy setting the run solved with"))
        elif not _same(recorded[key], value):
            problems.append(Problem(MANIFEST, None, f"policy.{key}",
                                    f"records {_show(recorded[key])}, but {what} ({data.run.path}) gives "
                                    f"{_show(value)}: these outputs were not solved for this run"))
    for key in sorted(set(recorded) - set(actual)):
        problems.append(Problem(MANIFEST, None, f"policy.{key}", "not a policy setting of this run"))
    if manifest["run_name"] != data.run.name:
        problems.append(Problem(MANIFEST, None, "run_name", f"is not the run file's name ({data.run.name})",
                                manifest["run_name"]))
    if problems:
        raise InputError(problems)


def _check_termination(manifest: dict, portfolio: Portfolio, family: Family) -> None:
    """manifest.json's solver termination agrees with summary.json's status."""
    termination = manifest["solver"]["termination"]
    family.checked += 1
    if portfolio.status == "optimal" and termination != "convergenceCriteriaSatisfied":
        family.fail("manifest.json solver.termination", f"states {termination!r}, but summary.json status "
                                                        "'optimal' means the solver proved its gap")
    elif portfolio.status == "time_limit" and termination == "convergenceCriteriaSatisfied":
        family.fail("manifest.json solver.termination", f"states {termination!r}, but summary.json status is "
                                                        "'time_limit'")
    elif portfolio.status == "infeasible" and termination not in ("provenInfeasible", "infeasibleOrUnbounded"):
        family.fail("manifest.json solver.termination", f"states {termination!r}, but summary.json status is "
                                                        "'infeasible'")


def input_files(data: ModelData) -> list[Path]:
    """Every file the run reads: the run file and the dataset's files."""
    from ..inputs.reading import dataset_files

    return [Path(data.run.path).resolve()] + [Path(p).resolve() for p in dataset_files(data.dataset.path)]


def verify_files(data: ModelData, folder: Path) -> Report:
    """Check flows.csv, summary.json and results.xlsx in ``folder`` against ``data`` (already loaded).

    The workbook is checked when it is there (a run's staged set always has it; ``verify_folder``
    requires it through manifest.json's ``outputs``)."""
    return check(data, read_portfolio(data, folder, workbook=(Path(folder) / "results.xlsx").exists()))


def verify_folder(folder: Path) -> tuple[ModelData, Report]:
    """Re-read a run's inputs (from manifest.json) and its outputs, and check them.

    Refused (``InputError``, exit 2, located) before any check: a manifest
    lacking or mistyping a key, outputs or inputs that differ from their
    SHA-256, an input not hashed, a recorded policy that is not the run
    file's (with the settings the manifest records).
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    check_outputs(folder, manifest)
    check_inputs(manifest)
    data, notes = load_recorded(manifest)
    check_inputs(manifest, input_files(data))
    check_recorded_policy(manifest, data)
    portfolio = read_portfolio(data, folder, workbook=True)
    report = check(data, portfolio)
    _check_termination(manifest, portfolio, report.families["reported"])
    report.notes[:0] = notes
    return data, report


def _relative(difference: float, report: Report) -> float:
    scale = max(abs(report.reported_objective or 0.0), abs(report.recomputed_objective or 0.0))
    return abs(difference) / scale if scale > 0 else 0.0


def format_report(report: Report, folder: Path | None = None) -> str:
    unit = {"budget": " (currency)"}
    lines = []
    if folder is not None:
        lines.append(f"verify {folder}: {'passed' if report.passed else 'FAILED'}")
    lines.append(f"tolerance: {RTOL:g} x the row's own scale (the larger of its two sides), plus {ROUNDING:g} per "
                 f"flows.csv number in the row (that file keeps 9 decimals); objective {OBJECTIVE_RTOL:g} x its scale")
    lines.append(f"{'family':<15} {'rows':>6} {'largest violation':>18} {'relative':>10}  where")
    for name, f in report.families.items():
        mark = "" if f.passed else "   <-- beyond tolerance"
        lines.append(f"{name:<15} {f.checked:>6} {f.violation:>18.3g} {f.relative:>10.2g}  "
                     f"{f.where or '-'}{unit.get(name, '') if f.where else ''}{mark}")
    if report.reported_objective is not None:
        difference = report.objective_difference
        lines.append(f"objective: reported {report.reported_objective:,.2f}, "
                     f"recomputed {report.recomputed_objective:,.2f}, "
                     f"difference {difference:.3g} ({_relative(difference, report):.2g} "
                     f"relative; tolerance {report.objective_tolerance:.3g}"
                     + (f", +{report.objective_allowed_excess:.3g} above for the gap" if report.objective_allowed_excess
                        else "") + ")" + ("" if report.objective_passed else "   <-- beyond tolerance"))
    if report.recourse is not None and report.recourse["reported"] is not None:
        r = report.recourse
        lines.append(f"recourse: reported {r['reported']:,.2f}, exact for this portfolio (results.stress) "
                     f"{r['exact']:,.2f}")
    lines += [f"note: {note}" for note in report.notes]
    return "\n".join(lines)  # a failed report's rows, located: Report.failures() (commands.common.check_failed)
