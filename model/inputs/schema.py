"""The input tables, declared once.

The loader, the validator, the Excel template and every error message read
this manifest; nothing else in the package spells out a column.  Units are
part of the data (``minerals.unit``), not of column names: a flow is in
tonnes per year of its mineral's reporting unit and money is in the
dataset's currency (the ``currency`` table; USD when it is absent).
"""

from __future__ import annotations

from dataclasses import dataclass

# Column kinds: how a cell's text becomes a value.
ID = "id"  # non-empty text, kept verbatim ("NA" is Namibia, not missing)
TEXT = "text"  # free text, may be empty
QUANTITY = "quantity"  # finite, >= 0
RATE = "rate"  # finite, in [0, 1]
YEAR = "year"  # integer
BOOL = "bool"  # true/false, yes/no, 1/0 in any case


# Magnitudes the solver resolves (README "Input limits"; measured by
# benchmarks/magnitudes.py).  HiGHS works to absolute tolerances (1e-7
# primal and dual, 1e-6 on integers, an absolute MIP gap of 1e-6), treats a
# cost of 1e20 as infinite and refuses matrix entries of 1e15: a non-zero
# number outside [low, high] of its kind is refused, and so are tonnages whose
# largest exceeds the smallest non-zero one by more than ``span``.  Zero is
# always allowed.
@dataclass(frozen=True)
class Limit:
    what: str  # how messages name the numbers: "tonnage"
    unit: str
    low: float  # smallest non-zero value
    high: float  # largest value
    span: float | None = None  # most the largest non-zero value in a dataset may exceed the smallest

    def allows(self, number: float) -> bool:
        return number == 0 or self.low <= number <= self.high

    def refusal(self) -> str:
        """What a message says of a number outside the limit."""
        unit = f" {self.unit}" if self.unit else ""
        return (f"must be 0 or from {self.low:g} to {self.high:g}{unit}: outside that range the solver cannot "
                f"resolve a {self.what} (README: Input limits)")


TONNES = Limit("tonnage", "t", 1e-2, 1e10, span=1e8)
UNIT_COST = Limit("cost per tonne", "currency per t", 1e-2, 1e12)
MONEY = Limit("amount of money", "currency", 1e-2, 1e15)
DAYS = Limit("number of days", "days", 1e-2, 3650.0)
YEARS = Limit("number of years", "years", 1e-2, 1000.0)
SHARE = Limit("share", "", 1e-6, 1.0)
MULTIPLE = Limit("multiple", "", 1e-6, 1e6)
NUMBER = Limit("number", "", 1e-9, 1e12)  # any other quantity (per kWh contents, GWh, conversion factors)
LIMITS = {"t": TONNES, "t per year": TONNES, "currency per t": UNIT_COST, "currency": MONEY,
          "currency per year": MONEY, "days": DAYS, "years": YEARS}


def limit(kind: str, unit: str) -> Limit | None:
    """The magnitude limit of a column of this kind and unit (None: not a number)."""
    if kind == RATE:
        return SHARE
    if kind != QUANTITY:
        return None
    return LIMITS.get(unit) or (MULTIPLE if unit.startswith("multiple") else NUMBER)


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    meaning: str
    unit: str = ""
    required: bool = True
    default: object = None  # used when the column is absent or the cell blank
    references: str | None = None  # table whose key this column must name
    wildcard: str | None = None  # a value allowed besides the references ("*")
    choices: tuple[str, ...] = ()  # the only values allowed, when given
    default_multiple: tuple[str, float] | None = None  # blank: this multiple of another column of the row


@dataclass(frozen=True)
class Table:
    name: str
    meaning: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # unique together
    required: bool = True

    @property
    def all_columns(self) -> tuple[Column, ...]:
        return self.columns + NOTE_COLUMNS

    def column(self, name: str) -> Column:
        for column in self.all_columns:
            if column.name == name:
                return column
        raise KeyError(name)


# Every table may carry these: where a number comes from, and remarks.
NOTE_COLUMNS = (
    Column("source", TEXT, "where the row's figures come from, or 'assumption: why'", required=False, default=""),
    Column("notes", TEXT, "free remarks", required=False, default=""),
)

MINERALS = Table(
    "minerals",
    "One row per mineral: its reporting unit, price and stockpile economics.",
    (
        Column("mineral", ID, "mineral id (lower case, e.g. lithium)"),
        Column("unit", TEXT, "reporting unit of every tonne of this mineral (e.g. t LCE)"),
        Column("reference_price", QUANTITY, "reference market price", "currency per t"),
        Column("holding_cost_rate", RATE, "annual cost of holding stock, as a fraction of the reference price",
               "per year"),
        Column("shortfall_penalty", QUANTITY, "penalty per tonne of unmet target (elastic mode)",
               "currency per t", required=False, default=None, default_multiple=("reference_price", 10.0)),
        Column("existing_stock_t", QUANTITY, "stock already held", "t", required=False, default=0.0),
        Column("max_stock_build_t", QUANTITY, "most the stock can grow from one planned year to the next",
               "t per year", required=False, default=None),
        Column("surge_price_factor", QUANTITY, "spot price multiple paid for emergency buys during a disruption",
               "multiple of unit cost", required=False, default=3.0),
        # JOGMEC's target differs by metal (60 days, up to 180 for high-risk ones): one run-wide number cannot say it.
        Column("stockpile_min_days", QUANTITY, "floor on this mineral's stock in days of its requirement "
               "(blank: the run's policy.stockpile_min_days)", "days", required=False, default=None),
    ),
    key=("mineral",),
)

TARGETS = Table(
    "targets",
    "Annual requirement of each mineral in each year.",
    (
        Column("mineral", ID, "mineral id", references="minerals"),
        Column("year", YEAR, "calendar year"),
        Column("target_t", QUANTITY, "requirement", "t per year"),
    ),
    key=("mineral", "year"),
)

COUNTRIES = Table(
    "countries",
    "Countries that mine or refine; exactly one is home.",
    (
        Column("country", ID, "ISO 3166 alpha-3 code"),
        Column("name", TEXT, "country name"),
        Column("home", BOOL, "the planning country (true on exactly one row)"),
        Column("ally", BOOL, "ally or trade partner for the ally-share policy", required=False, default=False),
        Column("conflict_affected", BOOL, "conflict-affected or high-risk area", required=False, default=False),
    ),
    key=("country",),
)

# A row's price: a fixed unit_cost, or a multiple of the mineral's reference price (market-linked),
# either one floored by price_floor (e.g. a contract floor).  See ModelData.flow_unit_cost.
PRICE_FACTOR = Column("price_factor", QUANTITY,
                      "market-linked price: multiple of the mineral's reference_price (give this or unit_cost)",
                      "multiple of reference price", required=False, default=None)
PRICE_FLOOR = Column("price_floor", QUANTITY, "the unit cost is never below this (e.g. a contract floor price)",
                     "currency per t", required=False, default=None)

SUPPLY = Table(
    "supply",
    "Market routes: buy a mineral mined in one country and refined in another.",
    (
        Column("option", ID, "route id"),
        Column("mineral", ID, "mineral id", references="minerals"),
        Column("mine_country", ID, "country where the ore is mined; * for a blend listed in mine_mix",
               references="countries", wildcard="*"),
        Column("refine_country", ID, "country where it is refined", references="countries"),
        Column("unit_cost", QUANTITY, "delivered price (give this or price_factor)", "currency per t",
               required=False, default=None),
        Column("max_t", QUANTITY, "most that can be bought on this route", "t per year"),
        Column("min_t", QUANTITY, "contract minimum if the route is used", "t per year", required=False, default=0.0),
        Column("fixed_cost", QUANTITY, "annual fixed cost if the route is used", "currency per year",
               required=False, default=0.0),
        Column("year_from", YEAR, "first year the route exists (pathway runs)", required=False, default=None),
        Column("year_to", YEAR, "last year the route exists (pathway runs)", required=False, default=None),
        PRICE_FACTOR,
        PRICE_FLOOR,
    ),
    key=("option",),
)

PROJECTS = Table(
    "projects",
    "Overseas projects in which an equity stake buys offtake rights.",
    (
        Column("project", ID, "project id"),
        Column("name", TEXT, "project name"),
        Column("mine_country", ID, "country of the mine; * for a blend of mines listed in mine_mix",
               references="countries", wildcard="*"),
        Column("refine_country", ID, "country of the refinery", references="countries"),
        Column("capex", QUANTITY, "equity outlay for the stake", "currency"),
        Column("life_years", QUANTITY, "economic life for the capital annuity", "years"),
        Column("available_from", YEAR, "first year the offtake can flow"),
        Column("committed", BOOL, "already signed: on stream from available_from, no capex, no budget",
               required=False, default=False),
    ),
    key=("project",),
    required=False,
)

PROJECT_OFFTAKE = Table(
    "project_offtake",
    "What a project's stake delivers, per mineral.",
    (
        Column("project", ID, "project id", references="projects"),
        Column("mineral", ID, "mineral id", references="minerals"),
        Column("offtake_t", QUANTITY, "offtake entitlement", "t per year"),
        Column("unit_cost", QUANTITY, "cost of the offtake to the equity holder (give this or price_factor)",
               "currency per t", required=False, default=None),
        Column("min_take", RATE, "take-or-pay floor as a fraction of the entitlement", required=False, default=0.0),
        PRICE_FACTOR,
        PRICE_FLOOR,
    ),
    key=("project", "mineral"),
    required=False,
)

RECYCLING = Table(
    "recycling",
    "Domestic recycling feedstock per mineral.",
    (
        Column("mineral", ID, "mineral id", references="minerals"),
        Column("feedstock_t", QUANTITY, "contained mineral in collectable scrap", "t per year"),
        Column("recovery_rate", RATE, "fraction of the fed mineral recovered"),
        Column("unit_cost", QUANTITY, "processing cost per tonne of contained mineral fed", "currency per t"),
        Column("stream", ID, "recycling stream whose plants treat this mineral (e.g. battery, magnet)",
               required=False, default="all"),
    ),
    key=("mineral",),
    required=False,
)

RECYCLING_PLANTS = Table(
    "recycling_plants",
    "Recycling plants that can be built; a plant's capacity is shared by the minerals of its stream.",
    (
        Column("plant", ID, "plant id"),
        Column("capacity_t", QUANTITY, "feed capacity, contained mineral of all kinds", "t per year"),
        Column("capex", QUANTITY, "investment", "currency"),
        Column("life_years", QUANTITY, "economic life for the capital annuity", "years"),
        Column("fixed_cost", QUANTITY, "annual fixed operating cost if built", "currency per year",
               required=False, default=0.0),
        Column("available_from", YEAR, "first year the plant can run (default: the first planned year)",
               required=False, default=None),
        Column("committed", BOOL, "already built or decided: runs from available_from, no capex, no budget",
               required=False, default=False),
        Column("stream", ID, "recycling stream it treats (the minerals of recycling with that stream)",
               required=False, default="all"),
    ),
    key=("plant",),
    required=False,
)

MINE_MIX = Table(
    "mine_mix",
    "Mine blends: a route or project whose ore comes from several mine countries, share by share.",
    (
        Column("source_type", ID, "market (a supply option) or equity (a project)", choices=("market", "equity")),
        Column("source_id", ID, "the supply option or project; its own mine_country is *"),
        Column("mine_country", ID, "a country the blend's ore is mined in", references="countries"),
        Column("share", RATE, "share of the source's tonnes mined there (a source's shares sum to 1)"),
    ),
    key=("source_type", "source_id", "mine_country"),
    required=False,
)

DISRUPTIONS = Table(
    "disruptions",
    "Supply shocks: each scenario removes a share of the flows through a country at a stage for a while.",
    (
        Column("scenario", ID, "scenario id; a scenario may have several rows"),
        Column("mineral", ID, "mineral id, or * for every mineral", references="minerals", wildcard="*"),
        Column("stage", ID, "stage hit: mine or refine", choices=("mine", "refine")),
        Column("country", ID, "country whose flows at that stage are hit", references="countries"),
        Column("loss_share", RATE, "share of the flows through that country lost during the event"),
        Column("duration_days", QUANTITY, "length of the event", "days"),
        Column("probability", RATE, "chance the scenario happens in a year (the same on every row of a scenario)",
               "per year"),
        Column("price_factor", QUANTITY, "price shock: the tonnes of the flows hit that still arrive cost this "
               "multiple of their unit cost for the event's duration (at least 1; blank: 1, no price change)",
               "multiple of unit cost", required=False, default=1.0),
        # An ore-export ban stops ore leaving the country, not ore refined where it is mined.
        Column("scope", ID, "flows hit: all (every flow through the country at the stage) or exported (stage mine "
               "only: the ore mined there and refined in another country)", choices=("all", "exported"),
               required=False, default="all"),
    ),
    key=("scenario", "mineral", "stage", "country"),
    required=False,
)

PRICE_INDEX = Table(
    "price_index",
    "Price path: multiplies a year's market unit costs and reference price of a mineral.",
    (
        Column("mineral", ID, "mineral id", references="minerals"),
        Column("year", YEAR, "calendar year"),
        Column("factor", QUANTITY, "multiple of the supply unit_cost and minerals reference_price",
               required=False, default=1.0),
    ),
    key=("mineral", "year"),
    required=False,
)

RECYCLING_FEEDSTOCK = Table(
    "recycling_feedstock",
    "Recycling feedstock per year, overriding recycling.feedstock_t in that year.",
    (
        Column("mineral", ID, "mineral id", references="minerals"),
        Column("year", YEAR, "calendar year"),
        Column("feedstock_t", QUANTITY, "contained mineral in collectable scrap", "t per year"),
    ),
    key=("mineral", "year"),
    required=False,
)

# Demand drivers: targets = "derived" in a run file computes the requirement
# from them instead of reading the targets table (see ``inputs/demand.py``).
BATTERY_CHEMISTRIES = Table(
    "battery_chemistries",
    "Mineral content of each battery chemistry, per kWh of cells.",
    (
        Column("chemistry", ID, "chemistry id (e.g. NMC811, LFP)"),
        Column("mineral", ID, "mineral id", references="minerals"),
        Column("per_kwh", QUANTITY, "content per kWh", "see unit"),
        Column("unit", TEXT, "mass and basis of per_kwh, e.g. 'kg Li' or 'kg LCE'; converted to the mineral's unit"),
    ),
    key=("chemistry", "mineral"),
    required=False,
)

UNIT_CONVERSIONS = Table(
    "unit_conversions",
    "How one basis converts to another (e.g. Li content to lithium carbonate equivalent).",
    (
        Column("from_basis", ID, "basis converted from, e.g. Li"),
        Column("to_basis", ID, "basis converted to, e.g. LCE"),
        Column("factor", QUANTITY, "tonnes of to_basis per tonne of from_basis"),
    ),
    key=("from_basis", "to_basis"),
    required=False,
)

DEMAND_DRIVERS = Table(
    "demand_drivers",
    "Industrial output that creates the requirement, per year.",
    (
        Column("year", YEAR, "calendar year"),
        Column("battery_gwh", QUANTITY, "domestic battery cell production", "GWh per year"),
        Column("magnet_t", QUANTITY, "permanent magnet (NdFeB) production", "t per year", required=False, default=0.0),
    ),
    key=("year",),
    required=False,
)

CHEMISTRY_MIX = Table(
    "chemistry_mix",
    "Share of each chemistry in the year's battery production (shares of a year sum to 1).",
    (
        Column("year", YEAR, "calendar year"),
        Column("chemistry", ID, "chemistry id from battery_chemistries"),
        Column("share", RATE, "share of the year's GWh"),
    ),
    key=("year", "chemistry"),
    required=False,
)

MAGNET_CONTENT = Table(
    "magnet_content",
    "Mineral content per tonne of magnet.",
    (
        Column("mineral", ID, "mineral id", references="minerals"),
        Column("per_t_magnet", QUANTITY, "content per tonne of magnet", "see unit"),
        Column("unit", TEXT, "mass and basis of per_t_magnet, e.g. 't NdPr oxide'"),
    ),
    key=("mineral",),
    required=False,
)

OTHER_DEMAND = Table(
    "other_demand",
    "Requirement from other uses, added to the derived one.",
    (
        Column("year", YEAR, "calendar year"),
        Column("mineral", ID, "mineral id", references="minerals"),
        Column("other_t", QUANTITY, "other-use requirement", "see unit"),
        Column("unit", TEXT, "mass and basis, e.g. 't Ni'"),
    ),
    key=("year", "mineral"),
    required=False,
)

CURRENCY = Table(
    "currency",
    "The currency of every amount of money in the dataset (one row; without this table: USD), and optionally a "
    "currency the results also state their totals in, at a stated rate.",
    (
        Column("currency", ID, "ISO 4217 code of every amount of money in the dataset, e.g. USD"),
        Column("report_currency", ID, "ISO 4217 code of a currency the results also state their totals in",
               required=False, default=""),
        Column("fx_rate", QUANTITY, "units of report_currency per unit of currency (e.g. 150.97 JPY per USD)",
               "report_currency per currency", required=False, default=None),
    ),
    key=("currency",),
    required=False,
)

TABLES: tuple[Table, ...] = (
    MINERALS, TARGETS, COUNTRIES, SUPPLY, PROJECTS, PROJECT_OFFTAKE, MINE_MIX, RECYCLING, RECYCLING_PLANTS,
    DISRUPTIONS,
    BATTERY_CHEMISTRIES, UNIT_CONVERSIONS, DEMAND_DRIVERS, CHEMISTRY_MIX, MAGNET_CONTENT, OTHER_DEMAND,
    PRICE_INDEX, RECYCLING_FEEDSTOCK, CURRENCY,
)
TABLES_BY_NAME = {table.name: table for table in TABLES}

BOOL_TEXT = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
