"""An independent check of a solved portfolio: no Pyomo, no solver (``critmin verify``).

The check reads what a run wrote -- ``flows.csv`` (one row per non-zero flow)
and ``summary.json`` (status, objective, stock, chosen projects and plants) --
and the run's inputs, and tests every constraint family of DESIGN.md from
them alone, with its own arithmetic:

1. target        sum_o x[o] + sum_p q[p,m] + r[m] + u[m] >= target[m]
2. country_cap   per stage in cap_stages and foreign c: flows of m through c <= cap[m] * target[m]
3. route_bounds  x[o] <= max_t[o]; x[o] > 0 => x[o] >= min_t[o]
4. equity        q <= offtake * y; y = 1 => q >= min_take * offtake; y = 1 only when available
5. recycling     f = r / recovery <= feedstock; sum_m f <= sum of the built plants' capacity;
                 r >= min_recycling_share * target
6. stockpile     rule mode: s >= days/365 * flows through c at either stage, every foreign c;
                 always s >= min_days/365 * target
7. budget        capex of the stakes and plants <= investment_budget
8. policy_limits conflict share, ally shares (mine, refine), any_stage_cap

plus ``reported``: the totals and costs the outputs state (per mineral in
summary.json, per flow in flows.csv, per lever) agree with the flows.  The
objective is recomputed from its parts (market purchases and route fixed
costs, capex annuities and offtake, plant costs and processing, carrying
cost; in stochastic mode the expected recourse, which ``results.stress``
evaluates exactly for the fixed first stage) and compared with the
objective the solver reported.

Binaries are not written, so they are derived: a stake is taken when the
project is in ``projects_chosen`` or has offtake; a plant is built when it
is in ``plants_built``; a switched route is used when it carries tonnes.
Feed is ``recycled / recovery_rate`` (the least feed that yields the output).

Tolerances.  A constraint ``lhs <= rhs`` holds when ``lhs - rhs <= ATOL +
RTOL * scale``, the scale being the larger of |lhs| and |rhs| (tonnes or
currency): HiGHS enforces feasibility to about 1e-7 on its scaled rows, and
flows.csv keeps 9 decimals.  The objective holds when the recomputed value
is within ``OBJECTIVE_ATOL + OBJECTIVE_RTOL * |objective|`` of the reported
one.  In stochastic mode the reported recourse may exceed the exact one by
the achieved gap (an incumbent's second stage need not be optimal), never
fall below it.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError, Problem, UsageError
from ..inputs.data import ModelData
from ..inputs.runfile import STAGES

ATOL = 1e-6  # tonnes or currency
RTOL = 1e-6  # of the constraint's scale
OBJECTIVE_ATOL = 1e-6  # currency
OBJECTIVE_RTOL = 1e-7  # of |objective|

FAMILIES = ("target", "country_cap", "route_bounds", "equity", "recycling", "stockpile", "budget",
            "policy_limits", "reported")
FLOW_COLUMNS = ("year", "mineral", "source_type", "source_id", "mine_country", "refine_country", "tonnes", "cost")
LEVERS = ("market", "equity", "recycling", "stockpile", "recourse", "shortfall")
# csv writers quote text a spreadsheet would run as a formula with a leading "'" (writers.files.safe_text)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Family:
    """The largest violation seen in one constraint family."""

    checked: int = 0
    violation: float = 0.0  # largest lhs - rhs over the rows (0 when every row holds with slack)
    relative: float = 0.0  # that violation over its row's scale
    where: str = ""
    failed: int = 0  # rows beyond tolerance

    def add(self, where: str, lhs: float, rhs: float, sense: str = "<=") -> None:
        """Record the row ``lhs <= rhs`` (or ``>=``)."""
        excess = lhs - rhs if sense == "<=" else rhs - lhs
        scale = max(abs(lhs), abs(rhs))
        self.checked += 1
        if excess > ATOL + RTOL * scale:
            self.failed += 1
        if excess > self.violation:
            self.violation, self.relative, self.where = excess, excess / max(scale, 1.0), where

    @property
    def passed(self) -> bool:
        return self.failed == 0


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
        lines = [f"{name}: {f.failed} row(s) violated, the largest by {f.violation:.6g} ({f.relative:.3g} relative) "
                 f"at {f.where}" for name, f in self.families.items() if not f.passed]
        if not self.objective_passed:
            lines.append(f"objective: reported {self.reported_objective:,.6f}, recomputed from its parts "
                         f"{self.recomputed_objective:,.6f} (difference {self.objective_difference:.6g}, tolerance "
                         f"{self.objective_tolerance:.3g}" + (f" + {self.objective_allowed_excess:.3g} above"
                                                              if self.objective_allowed_excess else "") + ")")
        return lines

    def as_dict(self) -> dict:
        return {
            "passed": self.passed,
            "tolerance": {"absolute": ATOL, "relative": RTOL, "objective_absolute": OBJECTIVE_ATOL,
                          "objective_relative": OBJECTIVE_RTOL},
            "families": {name: dataclasses.asdict(f) | {"passed": f.passed} for name, f in self.families.items()},
            "objective": {"reported": self.reported_objective, "recomputed": self.recomputed_objective,
                          "difference": self.objective_difference, "tolerance": self.objective_tolerance,
                          "allowed_excess": self.objective_allowed_excess, "passed": self.objective_passed},
            "recourse": self.recourse,
            "notes": list(self.notes),
        }


@dataclass
class Portfolio:
    """First-stage decisions and reported figures read back from flows.csv and summary.json."""

    status: str
    objective: float | None
    mip_gap: float | None
    buy: dict = field(default_factory=dict)  # (o, t) -> t
    offtake: dict = field(default_factory=dict)  # (p, m, t) -> t
    recycled: dict = field(default_factory=dict)  # (m, t) -> t
    row_cost: dict = field(default_factory=dict)  # (source_type, source_id, m, t) -> reported cost
    stock: dict = field(default_factory=dict)  # (m, t) -> t
    shortfall: dict = field(default_factory=dict)  # (m, t) -> t
    stakes: set = field(default_factory=set)
    plants: set = field(default_factory=set)
    cost_by_lever: dict = field(default_factory=dict)
    minerals: dict = field(default_factory=dict)  # summary.json per-mineral entries, by (m, t)
    project_start: dict = field(default_factory=dict)  # p -> year it comes on stream (summary.json)
    plant_start: dict = field(default_factory=dict)  # k -> year
    split: dict = field(default_factory=dict)  # (kind, source, m, t) -> {mine country: tonnes} (blends)
    relaxed: dict = field(default_factory=dict)  # infeasible runs: (limit, m, t, where) -> relaxed tonnes stated

    def start(self, data: ModelData, kind: str, name: str) -> int | None:
        """Year a project ("stake") or plant ("build") is on stream from; committed ones from
        max(first year, available_from); chosen ones from their stated start year (else the first year)."""
        asset = data.projects[name] if kind == "stake" else data.plants[name]
        first, last = data.years[0], data.years[-1]
        if asset.committed:
            begin = max(first, asset.available_from if kind == "stake" else data.plant_from(name))
            return begin if begin <= last else None
        chosen, starts = (self.stakes, self.project_start) if kind == "stake" else (self.plants, self.plant_start)
        return int(starts.get(name, first)) if name in chosen else None

    def built(self, data: ModelData, kind: str, name: str, year: int) -> bool:
        begin = self.start(data, kind, name)
        return begin is not None and begin <= year


# --------------------------------------------------------------------------- reading


def _crf(rate: float, life_years: float) -> float:
    """Capital recovery factor, computed here again (not imported from the model)."""
    if rate == 0:
        return 1.0 / life_years
    growth = (1.0 + rate) ** life_years
    return rate * growth / (growth - 1.0)


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _unquote(text: str) -> str:
    """The value ``writers.files.safe_text`` wrote: it quotes formula-like text and text starting with a quote."""
    return text[1:] if text.startswith("'") else text


def read_summary(path: Path) -> dict:
    if not path.is_file():
        raise UsageError(f"{path}: not found; verify takes a folder written by 'critmin solve'")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InputError([Problem(path.name, None, None, "not UTF-8 text")]) from None
    except json.JSONDecodeError as error:
        raise InputError([Problem(path.name, error.lineno, None, "not valid JSON", error.msg)]) from None
    if not isinstance(document, dict):
        raise InputError([Problem(path.name, 1, None, "must be a JSON object")])
    return document


def read_portfolio(data: ModelData, folder: Path) -> Portfolio:
    """flows.csv and summary.json of ``folder``, checked for shape; every problem is located."""
    folder = Path(folder)
    summary = read_summary(folder / "summary.json")
    problems: list[Problem] = []

    def need(key, kind, where="summary.json"):
        value = summary.get(key)
        ok = {"number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
              "number-or-null": lambda v: v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)),
              "list": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
              "dict": lambda v: isinstance(v, dict), "text": lambda v: isinstance(v, str)}[kind](value)
        if key not in summary:
            problems.append(Problem(where, None, key, "required key is missing"))
        elif not ok:
            problems.append(Problem(where, None, key, f"must be {kind.replace('-', ' ')}", value))
        return value if ok else None

    status = need("status", "text")
    objective = need("objective", "number-or-null")
    gap = need("mip_gap", "number-or-null")
    chosen = need("projects_chosen", "list") or []
    built = need("plants_built", "list") or []
    levers = need("cost_by_lever", "dict") or {}
    minerals = need("minerals", "dict") or {}
    if status is not None and status not in ("optimal", "time_limit", "infeasible"):
        problems.append(Problem("summary.json", None, "status", "must be optimal, time_limit or infeasible", status))
    if status in ("optimal", "time_limit") and objective is None:
        problems.append(Problem("summary.json", None, "objective", "a solved run must state its objective"))
    portfolio = Portfolio(status or "", objective, gap)
    for p in chosen:
        if p not in data.projects:
            problems.append(Problem("summary.json", None, "projects_chosen", "not a project of this dataset", p))
    for k in built:
        if k not in data.plants:
            problems.append(Problem("summary.json", None, "plants_built", "not a recycling plant of this dataset", k))
    portfolio.stakes, portfolio.plants = set(chosen) & set(data.projects), set(built) & set(data.plants)
    for key, target in (("project_start_years", portfolio.project_start), ("plant_start_years", portfolio.plant_start)):
        for name, year in (summary.get(key) or {}).items():
            if isinstance(year, int) and not isinstance(year, bool):
                target[name] = year
            else:
                problems.append(Problem("summary.json", None, f"{key}.{name}", "must be a year", year))
    for lever, cost in levers.items():
        if not isinstance(cost, (int, float)) or isinstance(cost, bool):
            problems.append(Problem("summary.json", None, f"cost_by_lever.{lever}", "must be a number", cost))
        else:
            portfolio.cost_by_lever[lever] = float(cost)

    # Per-mineral entries: the last planned year in ``minerals``, earlier ones in ``by_year`` (pathway).
    by_year = {max(data.years): minerals}
    for year, entries in (summary.get("by_year") or {}).items():
        if str(year).isdigit() and isinstance(entries, dict):
            by_year.setdefault(int(year), entries)
    for year, entries in by_year.items():
        for m in data.minerals:
            entry = entries.get(m)
            column = f"minerals.{m}" if year == max(data.years) else f"by_year.{year}.{m}"
            if not isinstance(entry, dict):
                problems.append(Problem("summary.json", None, column, "required entry is missing"))
                continue
            for key in ("stockpile_t", "shortfall_t", "market_t", "equity_t", "recycled_t", "supplied_t"):
                value = entry.get(key, 0.0 if key == "shortfall_t" else None)
                if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
                    problems.append(Problem("summary.json", None, f"{column}.{key}", "must be a number", value))
            portfolio.minerals[m, year] = entry
            portfolio.stock[m, year] = _as_float(entry.get("stockpile_t"))
            portfolio.shortfall[m, year] = _as_float(entry.get("shortfall_t", 0.0))
        for m in entries:
            if m not in data.minerals:
                problems.append(Problem("summary.json", None, f"minerals.{m}", "not a mineral of this dataset"))

    if status == "infeasible":
        problems += _read_relaxed(summary, portfolio)
    problems += _read_flows(data, folder / "flows.csv", portfolio)
    problems += _check_splits(data, portfolio)
    if problems:
        raise InputError(problems)
    return portfolio


def _read_relaxed(summary: dict, portfolio: Portfolio) -> list[Problem]:
    """The limits an infeasible run's elastic re-solve states it relaxed (summary.json diagnosis.relaxed)."""
    rows = (summary.get("diagnosis") or {}).get("relaxed") if isinstance(summary.get("diagnosis"), dict) else None
    if not isinstance(rows, list):
        return [Problem("summary.json", None, "diagnosis.relaxed", "an infeasible run must list its relaxed limits")]
    problems = []
    for i, row in enumerate(rows):
        ok = (isinstance(row, dict) and isinstance(row.get("limit"), str) and isinstance(row.get("mineral"), str)
              and isinstance(row.get("year"), int) and isinstance(row.get("where", ""), str)
              and isinstance(row.get("relaxed_t"), (int, float)) and not isinstance(row.get("relaxed_t"), bool))
        if not ok:
            problems.append(Problem("summary.json", None, f"diagnosis.relaxed[{i}]", "malformed entry"))
            continue
        key = (row["limit"], row["mineral"], row["year"], row.get("where", ""))
        portfolio.relaxed[key] = portfolio.relaxed.get(key, 0.0) + float(row["relaxed_t"])
    return problems


def _check_splits(data: ModelData, portfolio: Portfolio) -> list[Problem]:
    """A blend's rows split its tonnes by the blend's shares (DESIGN "Mine blends")."""
    problems = []
    for (kind, source, m, t), parts in sorted(portfolio.split.items()):
        if kind == "recycling":
            continue
        flow = source if kind == "market" else (source, m)
        total = sum(parts.values())
        for country, share in data.stage_shares(flow, "mine").items():
            stated = parts.get(country, 0.0)
            if abs(stated - share * total) > ATOL + RTOL * total:
                problems.append(Problem("flows.csv", None, "tonnes",
                                        f"{kind} {source} {m} {t}: {stated:.9g} t mined in {country}, but the blend "
                                        f"gives it {share:g} of {total:.9g} t"))
    return problems


def _as_float(value) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def _read_flows(data: ModelData, path: Path, portfolio: Portfolio) -> list[Problem]:
    if not path.is_file():
        raise UsageError(f"{path}: not found; verify takes a folder written by 'critmin solve'")
    problems: list[Problem] = []
    try:
        handle = open(path, newline="", encoding="utf-8")
        with handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            missing = [c for c in FLOW_COLUMNS if c not in header]
            if missing:
                return [Problem(path.name, 1, c, "required column is missing") for c in missing]
            for row in reader:
                line = reader.line_num
                if None in row:
                    problems.append(Problem(path.name, line, None, "more cells than header columns"))
                    continue
                cells = {k: _unquote((v or "").strip()) for k, v in row.items()}
                problems += _flow_row(data, path.name, line, cells, portfolio)
    except UnicodeDecodeError:
        return [Problem(path.name, None, None, "not UTF-8 text")]
    except csv.Error as error:
        return [Problem(path.name, None, None, "not a readable CSV file", str(error))]
    return problems


def _flow_row(data: ModelData, name: str, line: int, cells: dict, portfolio: Portfolio) -> list[Problem]:
    problems = []
    numbers = {}
    for column in ("year", "tonnes", "cost"):
        value = _number(cells[column])
        if value is None or (column == "tonnes" and value < 0):
            problems.append(Problem(name, line, column, "must be a finite number" + (", not negative"
                                                                                    if column == "tonnes" else ""),
                                    cells[column] or None))
        numbers[column] = value
    if problems:
        return problems
    year, tonnes, cost = int(numbers["year"]), numbers["tonnes"], numbers["cost"]
    if year not in data.years:
        return [Problem(name, line, "year", "not a planned year of this run", cells["year"])]
    kind, source, m = cells["source_type"], cells["source_id"], cells["mineral"]
    if m not in data.minerals:
        return [Problem(name, line, "mineral", "not a mineral of this dataset", m)]
    if kind == "market":
        route = data.routes.get(source)
        if route is None or route.mineral != m:
            return [Problem(name, line, "source_id", f"not a {m} route of this dataset", source)]
        key, store, flow = (source, year), portfolio.buy, source
        mines, refine = data.stage_shares(source, "mine"), route.refine_country
    elif kind == "equity":
        if (source, m) not in data.offtakes:
            return [Problem(name, line, "source_id", f"not a project with {m} offtake in this dataset", source)]
        key, store, flow = (source, m, year), portfolio.offtake, (source, m)
        mines, refine = data.stage_shares(flow, "mine"), data.projects[source].refine_country
    elif kind == "recycling":
        if m not in data.recycling:
            return [Problem(name, line, "mineral", "has no recycling feedstock in this dataset", m)]
        key, store, flow = (m, year), portfolio.recycled, None
        mines, refine = {data.home: 1.0}, data.home
    else:
        return [Problem(name, line, "source_type", "must be market, equity or recycling", kind)]
    if cells["mine_country"] not in mines:
        problems.append(Problem(name, line, "mine_country", f"does not match the dataset ({', '.join(mines)})",
                                cells["mine_country"]))
    if cells["refine_country"] != refine:
        problems.append(Problem(name, line, "refine_country", f"does not match the dataset ({refine})",
                                cells["refine_country"]))
    parts = portfolio.split.setdefault((kind, source, m, year), {})
    if cells["mine_country"] in parts:
        problems.append(Problem(name, line, "source_id", "the same flow appears twice", source))
    parts[cells["mine_country"]] = tonnes
    store[key] = store.get(key, 0.0) + tonnes
    portfolio.row_cost[kind, source, m, year] = portfolio.row_cost.get((kind, source, m, year), 0.0) + cost
    return problems


# --------------------------------------------------------------------------- checking


def check(data: ModelData, portfolio: Portfolio) -> Report:
    """Every constraint family and the objective, from the data and the portfolio alone."""
    report = Report()
    family = report.families
    policy = data.policy
    elastic = portfolio.status == "infeasible"
    if elastic:
        report.notes.append("infeasible run: the elastic portfolio is checked against every limit, each allowed to "
                            "exceed its bound by no more than the relaxation summary.json states; the recycling "
                            "and ally floors and the objective are elastic there and not checked")

    def allowed(limit, m, t, where="") -> float:
        """Tonnes by which an infeasible run says it relaxed this limit (0 in a solved run)."""
        return portfolio.relaxed.get((limit, m, t, where), 0.0) if elastic else 0.0
    for (p, m, t), q in sorted(portfolio.offtake.items(), key=lambda item: item[0][2]):
        if q > 0 and not data.projects[p].committed and p not in portfolio.stakes:
            portfolio.stakes.add(p)
            portfolio.project_start.setdefault(p, t)
    stakes = portfolio.stakes

    def built(kind, name, t) -> bool:
        return portfolio.built(data, kind, name, t)

    def flow(e, t) -> float:
        if isinstance(e, tuple):
            return portfolio.offtake.get((e[0], e[1], t), 0.0)
        return portfolio.buy.get((e, t), 0.0)

    def recycled(m, t) -> float:
        return portfolio.recycled.get((m, t), 0.0)

    def feed(m, t) -> float:
        r = recycled(m, t)
        if r <= 0:
            return 0.0
        rate = data.recycling[m].recovery_rate
        return r / rate if rate > 0 else math.inf

    flows_of = {m: data.routes_of(m) + data.offtakes_of(m) for m in data.minerals}
    for t in data.years:
        for m in data.minerals:
            target = data.target[m, t]
            supplied = sum(flow(e, t) for e in flows_of[m]) + recycled(m, t)
            # 1. target
            family["target"].add(f"{m} {t}", supplied + portfolio.shortfall.get((m, t), 0.0), target, ">=")
            if not elastic and portfolio.shortfall.get((m, t), 0.0) > 0:
                family["target"].add(f"{m} {t} shortfall in a strict solve", portfolio.shortfall[m, t], 0.0)
            # 2. country caps and 6. stockpile rule, per stage and foreign country (a blend by its shares)
            for g in STAGES:
                through: dict[str, float] = {}
                for e in flows_of[m]:
                    for c, share in data.stage_shares(e, g).items():
                        if c != data.home:
                            through[c] = through.get(c, 0.0) + share * flow(e, t)
                for c, tonnes in sorted(through.items()):
                    if g in policy.cap_stages:
                        family["country_cap"].add(f"{m} {g} {c} {t}", tonnes, policy.cap(m) * target
                                                  + allowed("country cap", m, t, f"{c} at the {g} stage"))
                    if policy.stockpile_mode == "rule" and policy.stockpile_days > 0:
                        family["stockpile"].add(f"{m} cover of {g} {c} {t}", portfolio.stock.get((m, t), 0.0),
                                                policy.stockpile_days / 365.0 * tonnes, ">=")
            family["stockpile"].add(f"{m} floor {t}", portfolio.stock.get((m, t), 0.0)
                                    + allowed("stockpile floor (stockpile_min_days)", m, t),
                                    policy.stockpile_min_days / 365.0 * target, ">=")
            # 5. recycling floor; 8. policy limits
            share = policy.min_recycling_share.get(m, 0.0)
            if share > 0 and not elastic:
                family["recycling"].add(f"{m} recycling share {t}", recycled(m, t), share * target, ">=")
            if policy.conflict_max_share < 1 and data.conflict:
                tonnes = sum(data.share_in(e, data.conflict) * flow(e, t) for e in flows_of[m])
                family["policy_limits"].add(f"{m} conflict share {t}", tonnes, policy.conflict_max_share * target
                                            + allowed("conflict-affected share limit", m, t))
            friendly = data.allies | {data.home}
            for g in STAGES:
                floor = policy.ally_min_share.get(g, 0.0)
                if floor > 0 and not elastic:
                    tonnes = sum(sum(share for c, share in data.stage_shares(e, g).items() if c in friendly)
                                 * flow(e, t) for e in flows_of[m])
                    family["policy_limits"].add(f"{m} ally share {g} {t}", tonnes + recycled(m, t), floor * target,
                                                ">=")
            if policy.any_stage_cap is not None:
                touching: dict[str, float] = {}
                for e in flows_of[m]:
                    countries = set(data.stage_shares(e, "mine")) | {data.stage_country(e, "refine")}
                    for c in countries - {data.home}:
                        # each tonne once: the whole flow where it is refined, a blend's share where mined
                        touching[c] = touching.get(c, 0.0) + data.touch_share(e, c) * flow(e, t)
                for c, tonnes in sorted(touching.items()):
                    family["policy_limits"].add(f"{m} any stage {c} {t}", tonnes, policy.any_stage_cap * target
                                                + allowed("any-stage cap", m, t, f"{c} at any stage"))
        # 3. route bounds
        for o, route in data.routes.items():
            x = portfolio.buy.get((o, t), 0.0)
            family["route_bounds"].add(f"{o} max_t {t}", x, route.max_t if route.active(t) else 0.0)
            if route.min_t > 0 and x > 0:
                family["route_bounds"].add(f"{o} min_t {t}", x, route.min_t, ">=")
        # 4. equity
        for (p, m), offtake in data.offtakes.items():
            q = portfolio.offtake.get((p, m, t), 0.0)
            y = 1.0 if built("stake", p, t) else 0.0
            family["equity"].add(f"{p} {m} offtake {t}", q, offtake.offtake_t * y)
            if offtake.min_take > 0 and y:
                family["equity"].add(f"{p} {m} take-or-pay {t}",
                                     q + allowed("take-or-pay floor of a committed stake", m, t,
                                                 f"committed stake {p}"),
                                     offtake.min_take * offtake.offtake_t, ">=")
        for p in sorted(stakes):
            begin = portfolio.start(data, "stake", p)
            family["equity"].add(f"{p} starts ({begin}) from available_from {data.projects[p].available_from}",
                                 float(data.projects[p].available_from), float(begin if begin is not None else 0), )
        # 5. recycling
        for m, recycling in data.recycling.items():
            if recycled(m, t) > 0 and recycling.recovery_rate <= 0:
                family["recycling"].add(f"{m} recycled with recovery_rate 0 ({t})", recycled(m, t), 0.0)
                continue
            family["recycling"].add(f"{m} feedstock {t}", feed(m, t), data.feedstock_t(m, t))
        for stream, minerals in data.stream_minerals.items():
            family["recycling"].add(f"plant capacity of stream {stream} {t}", sum(feed(m, t) for m in minerals),
                                    sum(k.capacity_t for name, k in data.plants.items()
                                        if k.stream == stream and built("build", name, t)))
        # 6. stock moves, only between planned years (a one-year run is a steady state)
        for m, mineral in data.minerals.items():
            if mineral.max_stock_build_t is not None and len(data.years) > 1:
                before = portfolio.stock.get((m, t - 1), 0.0) if t > data.years[0] else mineral.existing_stock_t
                family["stockpile"].add(f"{m} stock build {t}", portfolio.stock.get((m, t), 0.0) - before,
                                        mineral.max_stock_build_t + allowed("stock-move limit (max_stock_build_t)",
                                                                            m, t))
    # 7. budget: each capex once; committed assets are sunk
    if policy.investment_budget is not None:
        spent = (sum(data.projects[p].capex for p in stakes if not data.projects[p].committed)
                 + sum(data.plants[k].capex for k in portfolio.plants if not data.plants[k].committed))
        family["budget"].add("investment budget", spent, policy.investment_budget)

    costs = _costs(data, portfolio, feed)
    _check_reported(data, portfolio, report, costs, flow, recycled, flows_of)
    if not elastic:
        _check_objective(data, portfolio, report, costs)
    return report


def _costs(data: ModelData, portfolio: Portfolio, feed) -> dict:
    """Each lever's annual cost per year, and each source's cost, recomputed from the data."""
    rate = data.policy.discount_rate
    levers: dict[tuple[str, int], float] = {}
    sources: dict[tuple, float] = {}
    for t in data.years:
        market = 0.0
        for o, route in data.routes.items():
            x = portfolio.buy.get((o, t), 0.0)
            cost = data.unit_cost(o, t) * x + (route.fixed_cost if route.needs_switch and x > 0 else 0.0)
            market += cost
            if x > 0:
                sources["market", o, t] = cost
        equity = 0.0
        for p, project in data.projects.items():
            on = portfolio.built(data, "stake", p, t) and not project.committed
            annuity = _crf(rate, project.life_years) * project.capex if on else 0.0
            cost = annuity + sum(data.flow_unit_cost((pp, m), t) * portfolio.offtake.get((p, m, t), 0.0)
                                 for (pp, m) in data.offtakes if pp == p)
            equity += cost
            if any(portfolio.offtake.get((p, m, t), 0.0) > 0 for (pp, m) in data.offtakes if pp == p):
                sources["equity", p, t] = cost
        plants = sum((0.0 if k.committed else _crf(rate, k.life_years) * k.capex) + k.fixed_cost
                     for name, k in data.plants.items() if portfolio.built(data, "build", name, t))
        processing = sum(r.unit_cost * feed(m, t) for m, r in data.recycling.items())
        if any(feed(m, t) > 0 for m in data.recycling):
            sources["recycling", "all", t] = plants + processing
        levers["market", t] = market
        levers["equity", t] = equity
        levers["recycling", t] = plants + processing
        levers["stockpile", t] = sum(mn.holding_cost_rate * data.reference_price(m, t) * portfolio.stock.get((m, t), 0.0)
                                     for m, mn in data.minerals.items())
        levers["shortfall", t] = sum(mn.shortfall_penalty * portfolio.shortfall.get((m, t), 0.0)
                                     for m, mn in data.minerals.items())
        levers["recourse", t] = _recourse(data, portfolio, t)
    return {"levers": levers, "sources": sources}


def _recourse(data: ModelData, portfolio: Portfolio, year: int) -> float:
    """Expected extra cost of the disruption scenarios for the fixed portfolio (stochastic mode only)."""
    if data.policy.stockpile_mode != "stochastic":
        return 0.0
    from ..inputs.disruptions import scenarios_from_data
    from .stress import evaluate

    scenarios = scenarios_from_data(data)
    if not scenarios:
        return 0.0
    flows = {o: portfolio.buy.get((o, year), 0.0) for o in data.routes}
    flows.update({pm: portfolio.offtake.get((pm[0], pm[1], year), 0.0) for pm in data.offtakes})
    stock = {m: portfolio.stock.get((m, year), 0.0) for m in data.minerals}
    table = evaluate(data, flows, stock, scenarios, year)
    return float((table["probability"] * table["extra_cost"]).sum())


def _check_reported(data, portfolio, report, costs, flow, recycled, flows_of) -> None:
    """What the outputs state agrees with the flows: totals per mineral, cost per source and lever."""
    family = report.families["reported"]

    def equal(where, stated, computed):
        family.add(where, stated, computed)
        family.add(where, stated, computed, ">=")

    for (m, t), entry in portfolio.minerals.items():
        market = sum(flow(o, t) for o in data.routes_of(m))  # inactive years carry none (route_bounds)
        equity = sum(flow(e, t) for e in data.offtakes_of(m))
        for key, computed in (("market_t", market), ("equity_t", equity), ("recycled_t", recycled(m, t)),
                              ("supplied_t", market + equity + recycled(m, t))):
            equal(f"summary {m} {key} {t}", _as_float(entry.get(key)), computed)
    stated: dict[tuple, float] = {}
    for (kind, source, m, t), cost in portfolio.row_cost.items():
        key = (kind, "all" if kind == "recycling" else source, t)
        stated[key] = stated.get(key, 0.0) + cost
    for key in sorted(set(stated) | set(costs["sources"]), key=str):
        equal(f"flows.csv cost of {key[0]} {key[1]} {key[2]}", stated.get(key, 0.0), costs["sources"].get(key, 0.0))
    if portfolio.status != "infeasible":
        for lever, cost in portfolio.cost_by_lever.items():
            if lever in LEVERS and lever != "recourse":
                # cost_by_lever counts each year as the objective does: discounted to the first year
                equal(f"summary cost_by_lever.{lever}", cost, sum(data.discount(t) * v
                                                                 for (lv, t), v in costs["levers"].items()
                                                                 if lv == lever))


def _check_objective(data, portfolio, report, costs) -> None:
    levers = costs["levers"]
    rate = data.policy.discount_rate
    first = min(data.years)

    def discounted(lever_names):
        return sum((1.0 + rate) ** -(t - first) * levers[lever, t] for lever in lever_names for t in data.years)

    first_stage = discounted([lv for lv in LEVERS if lv != "recourse"])
    exact_recourse = discounted(["recourse"])
    reported = portfolio.objective
    scale = abs(reported) if reported is not None else 0.0
    report.reported_objective = reported
    report.recomputed_objective = first_stage + exact_recourse
    report.objective_tolerance = OBJECTIVE_ATOL + OBJECTIVE_RTOL * scale
    if data.policy.stockpile_mode == "stochastic":
        # An incumbent's second stage need not be optimal for its first stage: the reported
        # objective may exceed first stage + exact recourse by the achieved gap, never fall below.
        report.objective_allowed_excess = (portfolio.mip_gap or 0.0) * scale
        stated = portfolio.cost_by_lever.get("recourse")
        report.recourse = {"reported": stated, "exact": exact_recourse}
        if stated is not None:
            report.families["reported"].add("summary cost_by_lever.recourse + first stage = objective",
                                            first_stage + stated, reported or 0.0)
            report.families["reported"].add("summary cost_by_lever.recourse + first stage = objective",
                                            first_stage + stated, reported or 0.0, ">=")
    if len(data.years) > 1:
        report.notes.append("several planned years: the objective discounts each year's cost to the first year")


# --------------------------------------------------------------------------- a folder


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_manifest(folder: Path) -> dict:
    path = Path(folder) / "manifest.json"
    if not Path(folder).is_dir():
        raise UsageError(f"{folder}: not a folder; verify takes a folder written by 'critmin solve'")
    if not path.is_file():
        raise UsageError(f"{path}: not found; a complete run writes manifest.json last, so this folder holds no "
                         "complete outputs")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError([Problem("manifest.json", getattr(error, "lineno", None), None, "not valid JSON",
                                  getattr(error, "msg", None))]) from None
    problems = []
    if not isinstance(document, dict):
        raise InputError([Problem("manifest.json", 1, None, "must be a JSON object")])
    for key in ("run_file", "dataset"):
        if not isinstance(document.get(key), str):
            problems.append(Problem("manifest.json", None, key, "required key is missing or not text"))
    if problems:
        raise InputError(problems)
    return document


def check_hashes(folder: Path, manifest: dict) -> None:
    """The inputs are those the run read, and the outputs those it wrote (no mixed or edited set)."""
    problems = []
    for name, recorded in sorted((manifest.get("input_sha256") or {}).items()):
        path = Path(name)
        if not path.is_file():
            problems.append(Problem(str(path), None, None, "input of this run is missing"))
        elif sha256(path) != recorded:
            problems.append(Problem(str(path), None, None,
                                    "changed since this run was solved (SHA-256 differs from manifest.json); "
                                    "solve again"))
    for name, recorded in sorted((manifest.get("outputs") or {}).items()):
        path = Path(folder) / name
        if not path.is_file():
            problems.append(Problem(name, None, None, "output listed in manifest.json is missing"))
        elif sha256(path) != recorded:
            problems.append(Problem(name, None, None,
                                    "differs from the file this run wrote (SHA-256 in manifest.json): "
                                    "edited, or written by another run"))
    if problems:
        raise InputError(problems)


def with_recorded_policy(data: ModelData, manifest: dict) -> ModelData:
    """The policy the run solved with (manifest.json), e.g. a sweep point's, over the run file's."""
    recorded = manifest.get("policy")
    if not isinstance(recorded, dict):
        return data
    names = {f.name for f in dataclasses.fields(data.run.policy)}
    changes = {k: (tuple(v) if k == "cap_stages" else v) for k, v in recorded.items() if k in names}
    try:
        policy = dataclasses.replace(data.run.policy, **changes)
    except TypeError:
        return data
    return dataclasses.replace(data, run=dataclasses.replace(data.run, policy=policy))


def verify_files(data: ModelData, folder: Path) -> Report:
    """Check flows.csv and summary.json in ``folder`` against ``data`` (already loaded)."""
    return check(data, read_portfolio(data, folder))


def verify_folder(folder: Path) -> tuple[ModelData, Report]:
    """Re-read a run's inputs (from manifest.json) and its outputs, and check them."""
    from ..inputs.data import load

    folder = Path(folder)
    manifest = read_manifest(folder)
    check_hashes(folder, manifest)
    data = load(Path(manifest["run_file"]), Path(manifest["dataset"]))
    data = with_recorded_policy(data, manifest)
    return data, verify_files(data, folder)


def format_report(report: Report, folder: Path | None = None) -> str:
    unit = {"budget": " (currency)", "reported": ""}
    lines = []
    if folder is not None:
        lines.append(f"verify {folder}: {'passed' if report.passed else 'FAILED'}")
    lines.append(f"tolerance: {ATOL:g} + {RTOL:g} x scale per row (tonnes or currency); "
                 f"objective {OBJECTIVE_ATOL:g} + {OBJECTIVE_RTOL:g} x |objective|")
    lines.append(f"{'family':<14} {'rows':>6} {'largest violation':>18} {'relative':>10}  where")
    for name, f in report.families.items():
        mark = "" if f.passed else "   <-- beyond tolerance"
        lines.append(f"{name:<14} {f.checked:>6} {f.violation:>18.3g} {f.relative:>10.2g}  "
                     f"{f.where or '-'}{unit.get(name, '')if f.where else ''}{mark}")
    if report.reported_objective is not None:
        difference = report.objective_difference
        lines.append(f"objective: reported {report.reported_objective:,.2f}, recomputed {report.recomputed_objective:,.2f}, "
                     f"difference {difference:.3g} ({abs(difference) / max(abs(report.reported_objective), 1.0):.2g} "
                     f"relative; tolerance {report.objective_tolerance:.3g}"
                     + (f", +{report.objective_allowed_excess:.3g} above for the gap" if report.objective_allowed_excess
                        else "") + ")" + ("" if report.objective_passed else "   <-- beyond tolerance"))
    if report.recourse is not None and report.recourse["reported"] is not None:
        r = report.recourse
        lines.append(f"recourse: reported {r['reported']:,.2f}, exact for this portfolio (results.stress) "
                     f"{r['exact']:,.2f}")
    lines += [f"note: {note}" for note in report.notes]
    return "\n".join(lines)
