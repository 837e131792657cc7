"""The one validated data object the model, the results and the checks read.

``ModelData`` holds a run's parameters as plain, sorted dictionaries built
from the rows that exist (sparse), so the same input always yields the same
model.  Notation follows docs/model.md: routes ``o``, projects ``p``, minerals
``m``, plants ``k``, countries ``c``, stages ``g`` (mine, refine), years ``t``.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from pathlib import Path

from .overrides import overridden
from .runfile import STAGES, Run, check_run_against_data, load_run
from .schema import MINERALS, TABLES_BY_NAME, YEAR
from .validate import Dataset, load_dataset


@dataclass(frozen=True)
class Route:
    option: str
    mineral: str
    mine_country: str  # "*": a blend, see ModelData.stage_shares
    refine_country: str
    unit_cost: float | None  # currency per t; None when the row is market-linked (price_factor)
    max_t: float  # t per year
    min_t: float
    fixed_cost: float  # currency per year when used
    year_from: int | None = None  # the route exists only from/to these years (None: open)
    year_to: int | None = None
    price_factor: float | None = None  # unit cost = price_factor * reference price (market-linked)
    price_floor: float | None = None  # the unit cost is never below this

    def active(self, year: int) -> bool:
        return (self.year_from is None or self.year_from <= year) and (self.year_to is None or year <= self.year_to)

    @property
    def needs_switch(self) -> bool:
        """A binary z[o] is needed only for a minimum volume or a fixed cost."""
        return self.min_t > 0 or self.fixed_cost > 0

    def country(self, stage: str) -> str:
        return self.mine_country if stage == "mine" else self.refine_country


@dataclass(frozen=True)
class Project:
    project: str
    name: str
    mine_country: str
    refine_country: str
    capex: float  # currency, once
    life_years: float
    available_from: int
    committed: bool = False  # signed: on stream from available_from, no capex charge, no budget

    def country(self, stage: str) -> str:
        return self.mine_country if stage == "mine" else self.refine_country


@dataclass(frozen=True)
class Offtake:
    project: str
    mineral: str
    offtake_t: float  # t per year
    unit_cost: float | None  # currency per t; None when market-linked (price_factor)
    min_take: float  # fraction of offtake_t
    price_factor: float | None = None  # unit cost = price_factor * reference price
    price_floor: float | None = None  # the unit cost is never below this (a contract floor)


ROUTE, OFFTAKE = "route", "offtake"


@dataclass(frozen=True)
class Flow:
    """One way a mineral arrives: a market route ``o`` (key: its option id) or an equity offtake
    (key: the pair ``(p, m)``).  Everything the model, the results and the checks ask of a flow."""

    key: str | tuple[str, str]
    kind: str  # ROUTE or OFFTAKE
    mineral: str
    mine_country: str  # "*": a blend, see ``mine``
    mine: tuple[tuple[str, float], ...]  # (mine country, share of the tonnes): the one country at 1, or a blend
    refine_country: str
    year_from: int | None  # exists from/to these years (None: open); an offtake from its project's availability
    year_to: int | None
    unit_cost: tuple[tuple[int, float], ...]  # (planned year, currency per t)

    @property
    def is_offtake(self) -> bool:
        return self.kind == OFFTAKE

    def shares(self, stage: str) -> dict[str, float]:
        return dict(self.mine) if stage == "mine" else {self.refine_country: 1.0}

    def country(self, stage: str) -> str:
        """The stage's country; ``*`` at the mine stage of a blend (use ``shares``)."""
        return self.mine_country if stage == "mine" else self.refine_country

    def exists(self, year: int) -> bool:
        return (self.year_from is None or self.year_from <= year) and (self.year_to is None or year <= self.year_to)

    def cost(self, year: int) -> float:
        for planned, cost in self.unit_cost:
            if planned == year:
                return cost
        raise KeyError(f"{self.key}: no unit cost for {year}, which is not a planned year")


@dataclass(frozen=True)
class Mineral:
    mineral: str
    unit: str
    reference_price: float
    holding_cost_rate: float
    shortfall_penalty: float
    existing_stock_t: float
    surge_price_factor: float  # spot price multiple for emergency buys in a disruption
    max_stock_build_t: float | None = None  # most the stock may grow a year (pathway); None: no limit
    stockpile_min_days: float | None = None  # floor in days of the requirement; None: the run's stockpile_min_days


@dataclass(frozen=True)
class Recycling:
    mineral: str
    feedstock_t: float
    recovery_rate: float
    unit_cost: float  # currency per t of contained mineral fed
    stream: str = "all"  # the plants of this stream treat it


@dataclass(frozen=True)
class Plant:
    plant: str
    capacity_t: float
    capex: float
    life_years: float
    fixed_cost: float
    available_from: int | None = None  # None: from the first planned year
    committed: bool = False
    stream: str = "all"  # treats the recycling minerals of this stream


@dataclass(frozen=True)
class ModelData:
    run: Run
    dataset: Dataset
    years: tuple[int, ...]
    minerals: dict[str, Mineral]
    target: dict[tuple[str, int], float]  # (m, t) -> t per year
    home: str
    allies: frozenset[str]
    conflict: frozenset[str]
    routes: dict[str, Route]
    projects: dict[str, Project]
    offtakes: dict[tuple[str, str], Offtake]  # (p, m)
    recycling: dict[str, Recycling]
    plants: dict[str, Plant]
    price: dict[tuple[str, int], float]  # (m, t) -> price_index factor
    feedstock: dict[tuple[str, int], float]  # (m, t) -> recycling_feedstock override
    # mine blends: ("market", option) or ("equity", project) -> {mine country: share}
    mine_mix: dict[tuple[str, str], dict[str, float]] = dataclasses.field(default_factory=dict)

    @property
    def policy(self):
        return self.run.policy

    def floor_days(self, mineral: str) -> float:
        """The stock floor of ``mineral`` in days of its requirement: its ``minerals.stockpile_min_days``,
        else the run's ``stockpile_min_days`` (docs/model.md, family 6)."""
        days = self.minerals[mineral].stockpile_min_days
        return self.policy.stockpile_min_days if days is None else days

    @functools.cached_property
    def _by_mineral(self) -> dict[str, tuple[list[str], list[tuple[str, str]]]]:
        """Routes and offtakes per mineral, grouped once: the model asks per mineral and year."""
        grouped: dict[str, tuple[list, list]] = {m: ([], []) for m in self.minerals}
        for o, route in self.routes.items():
            grouped[route.mineral][0].append(o)
        for pm in self.offtakes:
            grouped[pm[1]][1].append(pm)
        return grouped

    def routes_of(self, mineral: str) -> list[str]:
        return list(self._by_mineral[mineral][0])

    def offtakes_of(self, mineral: str) -> list[tuple[str, str]]:
        return list(self._by_mineral[mineral][1])

    @functools.cached_property
    def flows(self) -> dict:
        """Every flow by its key: route ids, then offtake pairs (p, m); the one place that tells them apart."""
        flows: dict = {}
        for o, route in self.routes.items():
            blend = self.mine_mix.get(("market", o))
            flows[o] = Flow(o, ROUTE, route.mineral, route.mine_country, _mine_shares(route.mine_country, blend),
                            route.refine_country,
                            route.year_from, route.year_to,
                            tuple((t, self.unit_cost(o, t)) for t in self.years))
        for (p, m), offtake in self.offtakes.items():
            project, blend = self.projects[p], self.mine_mix.get(("equity", p))
            flows[p, m] = Flow((p, m), OFFTAKE, m, project.mine_country, _mine_shares(project.mine_country, blend),
                               project.refine_country,
                               project.available_from, None,
                               tuple((t, self._offtake_cost(offtake, t)) for t in self.years))
        return flows

    @functools.cached_property
    def flows_touching(self) -> dict[tuple[str, str], list]:
        """(stage, country) -> the flows with a share at that stage in that country, minerals sorted, each
        mineral's flows as ``flows_of`` lists them: a disruption row only ever hits these."""
        touching: dict[tuple[str, str], list] = {}
        for m in sorted(self.minerals):
            for flow in self.flows_of(m):
                for stage in STAGES:
                    for country in self.flows[flow].shares(stage):
                        touching.setdefault((stage, country), []).append(flow)
        return touching

    @functools.cached_property
    def flow_order(self) -> dict:
        """flow -> its place when minerals are sorted and each lists its flows as ``flows_of`` does."""
        return {flow: n for n, flow in enumerate(f for m in sorted(self.minerals) for f in self.flows_of(m))}

    def stage_country(self, flow, stage: str) -> str:
        """Country of a market route ``o`` or an offtake ``(p, m)`` at ``stage`` (a blend's mine: ``*``)."""
        return self.flows[flow].country(stage)

    def mineral_of(self, flow) -> str:
        """Mineral of a market route ``o`` or an offtake ``(p, m)``."""
        return self.flows[flow].mineral

    def flows_of(self, mineral: str) -> list:
        """Every route, then every offtake, of ``mineral`` (sorted keys; whatever the year)."""
        return self.routes_of(mineral) + self.offtakes_of(mineral)

    def stage_shares(self, flow, stage: str) -> dict[str, float]:
        """Countries of a flow at ``stage``, each with its share of the flow's tonnes.

        One country with share 1, except at the mine stage of a source with a
        mine blend (``mine_mix``), which splits by the blend's shares.
        """
        return self.flows[flow].shares(stage)

    def mine_countries(self, flow) -> list[str]:
        """Every country a flow's ore is mined in (one, or a blend's)."""
        return sorted(self.stage_shares(flow, "mine"))

    def share_in(self, flow, countries) -> float:
        """Share of a flow's tonnes mined in ``countries`` (a set)."""
        return sum(share for c, share in self.stage_shares(flow, "mine").items() if c in countries)

    def touch_share(self, flow, country: str) -> float:
        """Share of a flow mined or refined in ``country``, each tonne counted once: the whole flow
        when it is refined there, else the blend's share mined there (docs/model.md "Mine blends")."""
        if self.stage_country(flow, "refine") == country:
            return 1.0
        return self.stage_shares(flow, "mine").get(country, 0.0)

    @functools.cached_property
    def stream_minerals(self) -> dict[str, list[str]]:
        """Recycling stream -> its minerals (sorted), for every stream with a mineral or a plant."""
        streams: dict[str, list[str]] = {k.stream: [] for k in self.plants.values()}
        for m in sorted(self.recycling):
            streams.setdefault(self.recycling[m].stream, []).append(m)
        return dict(sorted(streams.items()))

    def flow_exists(self, flow, year: int) -> bool:
        """A route exists in its year window; an offtake once its project is available."""
        return self.flows[flow].exists(year)

    def flow_unit_cost(self, flow, year: int) -> float:
        """Unit cost of a route or an offtake in a planned ``year`` (currency per t)."""
        return self.flows[flow].cost(year)

    def _offtake_cost(self, offtake: Offtake, year: int) -> float:
        # A fixed offtake cost is a contract term: price_index does not move it (a price_factor row moves
        # with the reference price, which does).
        return _priced(offtake.unit_cost, 1.0, offtake.price_factor, offtake.price_floor,
                       self.reference_price(offtake.mineral, year))

    def exposures(self, stages=STAGES) -> dict[tuple[str, str, str], dict]:
        """(m, g, c) -> {flow of m: its share whose stage-g country is the foreign country c}
        (share 1 except at the mine stage of a blend)."""
        groups: dict[tuple[str, str, str], dict] = {}
        for stage in stages:
            for flow in self.flows:
                for country, share in self.stage_shares(flow, stage).items():
                    if country != self.home:
                        groups.setdefault((self.mineral_of(flow), stage, country), {})[flow] = share
        return dict(sorted(groups.items()))

    def project_available(self, project: str, year: int) -> bool:
        return self.projects[project].available_from <= year

    def routes_in(self, mineral: str, year: int) -> list[str]:
        """Routes of ``mineral`` that exist in ``year``."""
        return [o for o in self.routes_of(mineral) if self.routes[o].active(year)]

    def price_factor(self, mineral: str, year: int) -> float:
        """price_index factor: multiplies market unit costs and the reference price (1 when absent)."""
        return self.price.get((mineral, year), 1.0)

    def unit_cost(self, option: str, year: int) -> float:
        """A route's unit cost in ``year``: unit_cost * price_index, or price_factor * reference price
        (which carries the price_index); never below price_floor (currency per t)."""
        route = self.routes[option]
        return _priced(route.unit_cost, self.price_factor(route.mineral, year), route.price_factor,
                       route.price_floor, self.reference_price(route.mineral, year))

    def reference_price(self, mineral: str, year: int) -> float:
        return self.minerals[mineral].reference_price * self.price_factor(mineral, year)

    def feedstock_t(self, mineral: str, year: int) -> float:
        """recycling_feedstock for the year, else recycling.feedstock_t."""
        return self.feedstock.get((mineral, year), self.recycling[mineral].feedstock_t)

    def plant_from(self, plant: str) -> int:
        available = self.plants[plant].available_from
        return self.years[0] if available is None else available

    def discount(self, year: int) -> float:
        """(1 + discount_rate)^-(t - first year): the weight of year t in the objective."""
        return (1.0 + self.policy.discount_rate) ** -(year - self.years[0])


def prepare(dataset: Dataset, run: Run) -> ModelData:
    """Build the sorted parameter dictionaries for a validated dataset and run.

    The run's data overrides (``set`` and ``--set``: inputs/overrides.py) apply first, to the validated
    tables, and the rules that span rows and tables are checked again on the result."""
    dataset = overridden(dataset, run)
    check_run_against_data(run, dataset)
    frame = dataset.tables

    def records(name: str, key: str):
        return sorted(frame[name].to_dict("records"), key=lambda row: tuple(row[k] for k in key.split(",")))

    minerals = {}
    other, multiple = MINERALS.column("shortfall_penalty").default_multiple  # the schema's default
    for row in records("minerals", "mineral"):
        penalty = row["shortfall_penalty"]
        if penalty is None or penalty != penalty:  # blank cell: the documented default
            penalty = multiple * row[other]
        minerals[row["mineral"]] = Mineral(row["mineral"], row["unit"], row["reference_price"],
                                           row["holding_cost_rate"], float(penalty), row["existing_stock_t"],
                                           row["surge_price_factor"], _blank_to_none(row["max_stock_build_t"]),
                                           _blank_to_none(row.get("stockpile_min_days")))
    years = tuple(sorted(run.years))
    if run.targets == "derived":
        from .demand import derive

        target = derive(dataset, years, run.demand.chemistry_share).targets
    else:
        target = {(row["mineral"], row["year"]): row["target_t"]
                  for row in records("targets", "mineral,year") if row["year"] in years}
    countries = frame["countries"]
    fields = {
        "routes": ("supply", "option", Route),
        "projects": ("projects", "project", Project),
        "recycling": ("recycling", "mineral", Recycling),
        "plants": ("recycling_plants", "plant", Plant),
    }
    built = {}
    for attribute, (table, key, cls) in fields.items():
        names = cls.__dataclass_fields__
        years_of = {c.name for c in TABLES_BY_NAME[table].columns if c.kind == YEAR}
        built[attribute] = {row[key]: cls(**{n: _blank_to_none(row[n], n in years_of) for n in names if n in row})
                            for row in records(table, key)}
    offtakes = {(row["project"], row["mineral"]): Offtake(
        row["project"], row["mineral"], row["offtake_t"], _blank_to_none(row["unit_cost"]), row["min_take"],
        _blank_to_none(row["price_factor"]), _blank_to_none(row["price_floor"]))
        for row in records("project_offtake", "project,mineral")}
    mine_mix: dict[tuple[str, str], dict[str, float]] = {}
    for row in records("mine_mix", "source_type,source_id,mine_country"):
        mine_mix.setdefault((row["source_type"], row["source_id"]), {})[row["mine_country"]] = float(row["share"])
    return ModelData(
        run=run,
        dataset=dataset,
        years=years,
        minerals=minerals,
        target=target,
        home=dataset.home,
        allies=frozenset(countries.loc[countries["ally"], "country"]),
        conflict=frozenset(countries.loc[countries["conflict_affected"], "country"]),
        offtakes=offtakes,
        price={(r["mineral"], r["year"]): r["factor"] for r in records("price_index", "mineral,year")},
        feedstock={(r["mineral"], r["year"]): r["feedstock_t"] for r in records("recycling_feedstock", "mineral,year")},
        mine_mix=mine_mix,
        **built,
    )


def _priced(unit_cost, index: float, factor, floor, reference: float) -> float:
    """docs/model.md "Price basis": unit_cost * index, or factor * reference (already indexed), floored."""
    price = unit_cost * index if unit_cost is not None else factor * reference
    return max(floor, price) if floor is not None else price


def _mine_shares(country: str, blend: dict[str, float] | None) -> tuple[tuple[str, float], ...]:
    return tuple(sorted(blend.items())) if blend is not None else ((country, 1.0),)


def _blank_to_none(value, year: bool = False):
    """Blank optional cells arrive as None or NaN (pandas makes a year column with blanks float)."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    return int(value) if year else value


def load(run_path: Path, dataset_override: Path | None = None, settings=()) -> ModelData:
    """Read, validate and prepare a run file and its dataset; ``settings``: --set strings (one value each,
    settings or data overrides), applied after the run file's own ``set``."""
    run = load_run(run_path)
    if settings:
        from .settings import parse_overrides, with_overrides

        run = with_overrides(run, parse_overrides(settings))
    dataset = load_dataset(dataset_override or run.data)
    return prepare(dataset, run)
