"""The result tables' columns, declared once: the output twin of ``inputs/schema.py``.

Every column a result table carries (``results.tables``, the stress,
marginal-value, forced-in and diagnosis tables, the pathway views and the
sweep table) is declared here with its kind, unit and meaning.  The writers
look a column up to choose its number format and to state its unit and
meaning in the header comment; nothing guesses from a column's name.
``tests/test_excel.py`` fails when a table carries a column that is not
declared.

Units are written with the word ``currency``, which the writers replace by
the dataset's currency code (USD in the default data), and ``t``, tonnes of
the mineral's reporting unit (``minerals.unit``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..inputs import schema

# Column kinds: what a value is, and so how it is shown.
ID = "id"  # an identifier from the inputs (mineral, country, route, project, scenario)
TEXT = "text"  # free text, or a list spelled out
FLAG = "flag"  # true / false
YEAR = "year"  # a calendar year
YEARS = "years"  # a number of years
TONNES = "tonnes"  # tonnes of the mineral's reporting unit
MONEY = "money"  # an amount of the dataset's currency
SHARE = "share"  # a fraction, shown as a percent
DAYS = "days"
SECONDS = "seconds"
GAP = "gap"  # a relative optimality gap
NUMBER = "number"  # any other number (a factor; a value whose unit another column states)

KINDS = (ID, TEXT, FLAG, YEAR, YEARS, TONNES, MONEY, SHARE, DAYS, SECONDS, GAP, NUMBER)


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    meaning: str
    unit: str = ""

    def renamed(self, name: str, meaning: str | None = None) -> Column:
        return Column(name, self.kind, meaning or self.meaning, self.unit)


@dataclass(frozen=True)
class Table:
    name: str  # the table's name: Results attribute, or what the command calls it
    meaning: str
    columns: tuple[Column, ...]
    sheets: tuple[str, ...] = ()  # the results.xlsx sheets that show it (or some of its columns)

    def column(self, name: str) -> Column | None:
        for column in self.columns:
            if column.name == name:
                return column
        return None

    def undeclared(self, names) -> list[str]:
        """The names among ``names`` this table does not declare."""
        return [str(name) for name in names if self.column(str(name)) is None]


# --------------------------------------------------------------------------- columns used by several tables

YEAR_COLUMN = Column("year", YEAR, "planned year")
MINERAL = Column("mineral", ID, "mineral id")
UNIT = Column("unit", TEXT, "reporting unit of the mineral's tonnes (minerals.unit)")
TARGET_T = Column("target_t", TONNES, "annual requirement", "t per year")
STOCKPILE_T = Column("stockpile_t", TONNES, "stock held at the end of the year", "t")
EXISTING_STOCK_T = Column("existing_stock_t", TONNES, "stock already held before the first planned year", "t")
MINE_COUNTRY = Column("mine_country", ID, "country where the ore is mined (* (...) spells out a mine blend)")
REFINE_COUNTRY = Column("refine_country", ID, "country where it is refined")
COMMITTED = Column("committed", FLAG, "already signed or built: on stream from its first year, capex sunk")
START_YEAR = Column("start_year", YEAR, "first year on stream (empty: never)")
CAPEX = Column("capex", MONEY, "investment (equity outlay or plant capex)", "currency")
CAPEX_CHARGED = Column("capex_charged", MONEY, "capex this portfolio spends (0 when committed or not chosen)",
                       "currency")
LIFE_YEARS = Column("life_years", YEARS, "economic life for the capital annuity", "years")
ANNUAL_COST = Column("annual_cost", MONEY, "annual cost when on stream", "currency per year")
SHARE_OF_TARGET = Column("share_of_target", SHARE, "share of the year's requirement", "fraction of the requirement")
REQUIREMENT_DAYS = Column("requirement_days", DAYS, "stock in days of the annual requirement", "days")


def _largest(stage: str, word: str) -> tuple[Column, Column]:
    return (Column(f"largest_{stage}_share", SHARE, f"largest share of the requirement {word} in one foreign "
                                                    "country", "fraction of the requirement"),
            Column(f"largest_{stage}_country", ID, f"the foreign country with that largest {stage}-stage share"))


LARGEST = (*_largest("mine", "mined"), *_largest("refine", "refined"),
           *_largest("any", "mined or refined (each flow counted once per country)"))

# --------------------------------------------------------------------------- results.tables

FLOWS = Table("flows", "One row per non-zero flow (per source and mine country for a blend).", (
    YEAR_COLUMN, MINERAL,
    Column("source_type", ID, "market (a supply route), equity (a project's offtake) or recycling"),
    Column("source_id", ID, "the supply option, the project, or recycling-<mineral>"),
    MINE_COUNTRY, REFINE_COUNTRY,
    Column("tonnes", TONNES, "tonnes delivered", "t per year"),
    Column("cost", MONEY, "the flow's full annual cost (purchases and fixed cost; offtake and capex annuity; "
                          "processing and plant costs)", "currency per year"),
    Column("tied_with", TEXT, "routes of the mineral at the same unit cost that took tonnes or had room left: "
                              "which of them carries the tonnes is the solver's pick (results.ties)"),
), sheets=("Flows",))

SHARES = Table("shares", "Per year, mineral, stage and foreign country: tonnes and share against the cap.", (
    YEAR_COLUMN, MINERAL,
    Column("stage", ID, "mine, refine, or any (mined or refined there)"),
    Column("country", ID, "foreign country"),
    Column("tonnes", TONNES, "tonnes mined or refined there", "t per year"),
    Column("share", SHARE, "share of the annual requirement", "fraction of the requirement"),
    Column("cap", SHARE, "the country cap of this stage (empty: none)", "fraction of the requirement"),
    Column("binding", FLAG, "the share is at its cap"),
), sheets=("Country dependence",))

MINERALS = Table("minerals", "Supply by mineral and lever per year.", (
    YEAR_COLUMN, MINERAL, UNIT, TARGET_T,
    Column("market_t", TONNES, "bought on market routes", "t per year"),
    Column("equity_t", TONNES, "equity offtake taken", "t per year"),
    Column("recycled_t", TONNES, "recycled at home", "t per year"),
    Column("supplied_t", TONNES, "market + equity + recycled", "t per year"),
    Column("shortfall_t", TONNES, "requirement left unmet (elastic diagnosis only)", "t per year"),
    STOCKPILE_T, EXISTING_STOCK_T,
    Column("stock_days", DAYS, "stock in days of the annual requirement", "days"),
    *LARGEST,
), sheets=("Supply", "Shares by year"))

PROJECTS = Table("projects", "Every equity project: chosen or not, its start, capex and offtake.", (
    Column("project", ID, "project id"),
    Column("name", TEXT, "project name"),
    MINE_COUNTRY, REFINE_COUNTRY,
    Column("available_from", YEAR, "first year the offtake can flow"),
    Column("available", FLAG, "can deliver in the last planned year"),
    COMMITTED,
    Column("chosen", FLAG, "the portfolio holds the stake (committed ones included)"),
    START_YEAR, CAPEX, CAPEX_CHARGED, LIFE_YEARS,
    Column("annualized_capex", MONEY, "capex annuity (0 when committed or not chosen)", "currency per year"),
    Column("offtake", TEXT, "offtake taken of the entitlement per mineral, last planned year"),
    Column("offtake_cost", MONEY, "cost of the offtake taken, last planned year", "currency per year"),
    ANNUAL_COST.renamed("annual_cost", "capex annuity plus offtake cost"),
), sheets=("Equity projects",))

RECYCLING = Table("recycling", "Domestic recycling per mineral and year.", (
    YEAR_COLUMN, MINERAL,
    Column("stream", ID, "recycling stream whose plants treat it"),
    Column("feedstock_t", TONNES, "contained mineral in collectable scrap", "t per year"),
    Column("feed_t", TONNES, "contained mineral fed to recycling", "t per year"),
    Column("recovery_rate", SHARE, "fraction of the fed mineral recovered", "fraction"),
    Column("recycled_t", TONNES, "recovered", "t per year"),
    SHARE_OF_TARGET,
    Column("processing_cost", MONEY, "processing cost of the feed", "currency per year"),
), sheets=("Recycling",))

PLANTS = Table("plants", "Recycling plants: built or not, capacity and annual cost.", (
    Column("plant", ID, "plant id"),
    Column("stream", ID, "recycling stream it treats"),
    COMMITTED,
    Column("built", FLAG, "the portfolio has the plant (committed ones included)"),
    START_YEAR,
    Column("capacity_t", TONNES, "feed capacity, contained mineral of all kinds", "t per year"),
    CAPEX, CAPEX_CHARGED, LIFE_YEARS,
    ANNUAL_COST.renamed("annual_cost", "capex annuity plus fixed cost when built"),
), sheets=("Recycling plants",))

COSTS = Table("costs", "Annual cost by lever and component per year (undiscounted).", (
    YEAR_COLUMN,
    Column("lever", ID, "market, equity, recycling, stockpile, recourse or shortfall"),
    Column("component", TEXT, "what the cost is"),
    Column("cost", MONEY, "annual cost, undiscounted", "currency per year"),
    Column("discount_factor", NUMBER, "weight of the year in the objective: 1 / (1 + discount_rate)^(year - first)",
           "factor"),
), sheets=("Costs",))

STOCKPILE = Table("stockpile", "Stock per year and mineral: level, cover, build-up.", (
    YEAR_COLUMN, MINERAL, UNIT, TARGET_T, STOCKPILE_T,
    Column("rule_t", TONNES, "the stock the stockpile_days rule asks for (empty: stochastic mode)", "t"),
    REQUIREMENT_DAYS,
    Column("floor_days", DAYS, "least stock in days of the requirement (minerals.stockpile_min_days, else the "
           "run's stockpile_min_days)", "days"),
    Column("largest_exposure_t", TONNES, "largest flow through one foreign country at either stage", "t per year"),
    Column("exposure_days", DAYS, "stock in days of the largest exposure (what stockpile_days sizes)", "days"),
    EXISTING_STOCK_T,
    Column("build_up_t", TONNES, "stock added since the year before (negative: released)", "t"),
    Column("max_stock_build_t", TONNES, "most the stock may grow in a year (empty: no limit)", "t per year"),
    Column("carrying_cost", MONEY, "annual cost of holding the stock", "currency per year"),
), sheets=("Stockpile", "Stock trajectory"))

TIMELINE = Table("timeline", "A pathway's investments by start year.", (
    START_YEAR,
    Column("asset", TEXT, "equity stake or recycling plant"),
    Column("id", ID, "project or plant id"),
    Column("name", TEXT, "project name (a plant: its id)"),
    COMMITTED, CAPEX, CAPEX_CHARGED,
), sheets=("Investment timeline",))

# --------------------------------------------------------------------------- stress, marginal values, forced-in

STRESS = Table("stress", "Disruption scenarios against the chosen portfolio, per scenario, year and mineral.", (
    Column("scenario", ID, "scenario id (n-1 <country>: every flow through that country lost)"),
    Column("probability", SHARE, "chance the scenario happens in a year", "per year"),
    YEAR_COLUMN, MINERAL,
    Column("duration_days", DAYS, "length of the event", "days"),
    Column("cover_price_floor", MONEY, "least price of any covering tonne: the dearest lost flow's unit cost",
           "currency per t"),
    Column("lost_t", TONNES, "tonnes lost over the event", "t"),
    Column("stock_t", TONNES, "stock held", "t"),
    Column("stock_drawn_t", TONNES, "stock drawn to cover the loss", "t"),
    Column("emergency_t", TONNES, "bought on unaffected routes' spare capacity at the surge price", "t"),
    Column("unmet_t", TONNES, "left unmet", "t"),
    Column("emergency_cost", MONEY, "cost of the emergency buys", "currency"),
    Column("stock_replenish_cost", MONEY, "cost of replenishing the stock drawn", "currency"),
    Column("penalty", MONEY, "shortfall penalty on the unmet tonnes", "currency"),
    Column("undelivered_saving", MONEY, "what the lost flows would have cost", "currency"),
    Column("price_shock_cost", MONEY, "what a price shock (disruptions.price_factor) adds to the tonnes that still "
                                      "arrive", "currency"),
    Column("extra_cost", MONEY, "emergency + replenish + penalty - undelivered saving + price shock (never negative)",
           "currency"),
    Column("cover_days", DAYS, "days the stock covers the loss rate", "days"),
), sheets=("Stress",))

RISK = Table("risk_scenarios", "Every joint disruption scenario's extra cost for the chosen portfolio, costliest "
                                "first: the distribution behind summary.json's risk figures.", (
    Column("rank", NUMBER, "1 = the costliest scenario"),
    Column("scenario", ID, "joint scenario: the events that happen together in the year (quiet: none)"),
    Column("probability", SHARE, "chance of this combination in a year", "per year"),
    Column("worse_or_equal_probability", SHARE, "chance of a year at least this costly: this row and every row "
                                                "above"),
    Column("extra_cost", MONEY, "the scenario's recourse cost R_s for the chosen portfolio, each mineral covered "
                                "cheapest first (the Stress sheet's extra_cost, summed)", "currency"),
    Column("unmet_t", TONNES, "tonnes left unmet, summed over the minerals", "t"),
    Column("tail_share", SHARE, "share of the probability inside the worst 1 - cvar_alpha: CVaR = sum of tail_share "
                                "x probability x extra_cost / (1 - cvar_alpha)"),
), sheets=("Risk",))

MARGINAL = Table("marginal_values", "What one more unit of each limit is worth at the chosen portfolio.", (
    Column("kind", ID, "target, target_row_dual, country_cap, any_stage_cap, stockpile_days or budget"),
    YEAR_COLUMN, MINERAL,
    Column("stage", ID, "mine or refine (country caps)"),
    Column("country", ID, "the foreign country whose cap binds"),
    Column("limit", NUMBER, "the limit: tonnes of requirement, cap (fraction), days or budget", "see kind"),
    Column("level", NUMBER, "where the portfolio stands against the limit", "see kind"),
    Column("value", MONEY, "what one more unit of the limit is worth", "see unit"),
    Column("unit", TEXT, "the unit of value"),
    Column("step_cost_saved", MONEY, "budget: annual cost saved by the portfolio chosen without it",
           "currency per year"),
    Column("step_extra_budget", MONEY, "budget: the extra budget that portfolio needs", "currency"),
), sheets=("Marginal values",))

FORCED = Table("forced_in", "Per project or plant not chosen: what forcing it into the portfolio costs.", (
    Column("kind", ID, "project or plant"),
    Column("id", ID, "project or plant id"),
    Column("name", TEXT, "project name (a plant: its id)"),
    CAPEX,
    Column("forced_in_cost", MONEY, "increase of the objective when it is forced in (empty: infeasible)",
           "currency per year"),
    Column("forced_objective", MONEY, "the objective with it forced in", "currency per year"),
    Column("start_year", YEAR, "its first year on stream in the forced solve"),
    Column("reason", TEXT, "why the forced solve has no cost"),
), sheets=("Forced-in costs",))

# --------------------------------------------------------------------------- an infeasible run's diagnosis

DIAGNOSIS = Table("diagnosis", "Infeasible run: per mineral and year, what cannot be met and which limits bind.", (
    YEAR_COLUMN, MINERAL, TARGET_T,
    Column("unmet_t", TONNES, "requirement left unmet by the elastic re-solve", "t per year"),
    Column("recycling_floor_unmet_t", TONNES, "recycling floor left unmet", "t per year"),
    Column("ally_floor_unmet_t", TEXT, "ally floor left unmet, per stage (t per year)"),
    Column("available_t", TONNES, "most any portfolio could bring in, ignoring caps and budget", "t per year"),
    Column("binding", TEXT, "the limits at their bounds in the elastic optimum"),
), sheets=("Diagnosis",))

RELAXED = Table("relaxed", "Every limit the elastic re-solve relaxed.", (
    YEAR_COLUMN, MINERAL,
    Column("limit", TEXT, "the limit relaxed"),
    Column("where", TEXT, "which row of it (stage, country, project)"),
    Column("relaxed_t", TONNES, "by how much", "t per year"),
    SHARE_OF_TARGET,
    Column("bound_t", TONNES, "the limit's bound", "t per year"),
), sheets=("Relaxed limits",))

BINDING = Table("binding", "Every policy limit at its bound, per planned year (results.binding).", (
    YEAR_COLUMN,
    Column("limit", TEXT, "the limit: country cap, any-stage cap, conflict-affected share, investment budget, "
                          "ally, recycling or stockpile floor, stockpile rule, stock build limit, take-or-pay"),
    MINERAL.renamed("mineral", "mineral id (empty: the budget)"),
    Column("where", TEXT, "which row of the limit (stage and country, project)"),
    Column("level", NUMBER, "where the portfolio stands", "see unit"),
    Column("bound", NUMBER, "the limit's bound", "see unit"),
    Column("unit", TEXT, "the unit of level and bound"),
), sheets=("What binds",))

TIES = Table("ties", "Each tie at equal cost once (results.ties.tie_groups).", (
    MINERAL,
    Column("routes", TEXT, "the routes that tie: same mineral, same unit cost, no fixed cost or minimum"),
    Column("unit_cost", MONEY, "their unit cost (the last year of the tie)", "currency per t"),
    Column("years", TEXT, "the planned years the tie holds in"),
))

# --------------------------------------------------------------------------- the sweep table

# sweep.csv and sweep.xlsx: the swept settings (named as swept), then these; per mineral m the
# columns ``<m>_<field>`` for each of ``SWEEP_MINERAL``, and per lever ``cost_<lever>``.
SWEEP = Table("sweep", "One row per sweep point.", (
    Column("status", ID, "optimal, time_limit, infeasible, no_solution or an error"),
    Column("annual_cost", MONEY, "the objective (a pathway: discounted total)", "currency per year"),
    Column("mip_gap", GAP, "achieved relative gap"),
    Column("risk_first_stage_cost", MONEY, "stochastic mode: the last year's cost of every lever but the recourse",
           "currency per year"),
    Column("risk_expected_recourse", MONEY, "stochastic mode: expected extra cost over the joint scenarios, each "
                                            "evaluated exactly (results.risk)", "currency per year"),
    Column("risk_expected_cost", MONEY, "first-stage cost + expected recourse: the frontier's expected cost",
           "currency per year"),
    Column("risk_var", MONEY, "VaR at cvar_alpha of the year's extra cost over the joint scenarios", "currency"),
    Column("risk_cvar", MONEY, "CVaR at cvar_alpha: the mean of the worst 1 - alpha of the year's extra cost",
           "currency"),
    Column("projects_chosen", TEXT, "equity stakes taken"),
    Column("plants_built", TEXT, "recycling plants built"),
    Column("message", TEXT, "why a point has no solution"),
    Column("seconds", SECONDS, "wall time of the point", "s"),
    Column("reused", FLAG, "read from an earlier run of the same sweep"),
))
SWEEP_LEVER = Column("cost_<lever>", MONEY, "the lever's cost as the objective counts it", "currency per year")
SWEEP_MINERAL = (
    TARGET_T, *LARGEST[:4], STOCKPILE_T, MINERALS.column("stock_days"),
    Column("unmet_t", TONNES, "requirement left unmet", "t per year"),
)

# --------------------------------------------------------------------------- the sensitivity tables

# sensitivity.csv and the Sensitivity sheet: one row per point (results.sensitivity).
SENSITIVITY = Table("sensitivity", "One row per sensitivity point, the base first.", (
    Column("group", ID, "the input group moved, kind:item (prices:lithium), or base"),
    Column("kind", ID, "prices, volumes, capex or target"),
    Column("item", ID, "the mineral, country or project"),
    Column("change", NUMBER, "how much every value of the group moves", "%"),
    Column("factor", NUMBER, "the factor every value of the group is multiplied by"),
    Column("status", ID, "optimal, time_limit, infeasible, no_solution, or invalid (the change leaves the data "
                         "invalid)"),
    Column("objective", MONEY, "the objective (a pathway: discounted total)", "currency per year"),
    Column("delta", MONEY, "the objective minus the base objective", "currency per year"),
    Column("delta_share", SHARE, "delta as a share of the base objective"),
    Column("stakes", TEXT, "stakes and plants the point takes (in) or leaves out (out) against the base"),
    Column("largest_country", TEXT, "largest foreign country of a mineral at a stage that changes "
                                    "(mineral stage base->point)"),
    Column("binding_caps", TEXT, "country caps that bind (binds) or no longer bind (released) against the base"),
    Column("flips", NUMBER, "how many decisions flip against the base"),
    Column("overrides", TEXT, "the --set values (space-separated) that repeat the point as a plain critmin solve"),
    Column("message", TEXT, "why a point has no solution"),
    Column("seconds", SECONDS, "wall time of the point", "s"),
    Column("reused", FLAG, "read from an earlier run of the same sensitivity"),
))
# The Flips sheet: one row per decision that flips.
FLIPS = Table("flips", "One row per decision a point takes otherwise than the base.", (
    Column("group", ID, "the input group moved"),
    Column("change", NUMBER, "how much it moves", "%"),
    Column("decision", ID, "stake, plant, largest country or binding cap"),
    Column("item", ID, "the stake or plant; mineral and stage; or mineral, stage and country of the cap"),
    Column("base", ID, "the decision in the base run"),
    Column("point", ID, "the decision at this change"),
))
# The Tornado sheet: per group the delta at each signed change (``delta_-20%``), then these.
TORNADO = Table("tornado", "One row per input group, the largest swing first.", (
    Column("group", ID, "the input group"),
    Column("swing", MONEY, "the largest |delta| over the changes", "currency per year"),
    Column("flips", NUMBER, "decisions that flip, over the group's points"),
))
TORNADO_DELTA = Column("delta_<change>%", MONEY, "the objective minus the base objective at that change",
                       "currency per year")


def sensitivity_column(name: str) -> Column | None:
    """A column of the sensitivity, flip or tornado table (a tornado's ``delta_<change>%``)."""
    for table in (SENSITIVITY, FLIPS, TORNADO):
        if table.column(name) is not None:
            return table.column(name)
    if name.startswith("delta_") and name.endswith("%"):
        return TORNADO_DELTA.renamed(name)
    return None


TABLES: tuple[Table, ...] = (FLOWS, SHARES, MINERALS, PROJECTS, RECYCLING, PLANTS, COSTS, STOCKPILE, TIMELINE,
                             STRESS, RISK, MARGINAL, FORCED, DIAGNOSIS, RELAXED, BINDING, TIES)
TABLES_BY_NAME = {table.name: table for table in TABLES}
BY_SHEET = {sheet: table for table in TABLES for sheet in table.sheets}


def for_sheet(title: str) -> Table | None:
    """The declared table a results.xlsx sheet shows; None for an ad-hoc table."""
    return BY_SHEET.get(title)


def lookup(name: str) -> Column | None:
    """A column of an undeclared table, by name: the declaration when every table that declares the
    name agrees on its kind and unit (``limit`` is a number in one table and text in another: None)."""
    found = {(c.kind, c.unit): c for table in TABLES for c in table.columns if c.name == name}
    return next(iter(found.values())) if len(found) == 1 else None


def sweep_column(name: str, settings: list[str] = ()) -> Column | None:
    """A sweep table column: a swept setting (None: shown as swept), a fixed column, a lever's cost
    (``cost_<lever>``) or a mineral's field (``<mineral>_<field>``)."""
    if name in settings:
        return None
    fixed = SWEEP.column(name)
    if fixed is not None:
        return fixed
    if name.startswith("cost_"):
        return SWEEP_LEVER.renamed(name)
    for field in sorted(SWEEP_MINERAL, key=lambda c: -len(c.name)):
        if name.endswith("_" + field.name) and len(name) > len(field.name) + 1:
            return field.renamed(name)
    return None


def from_input(column) -> Column:
    """An input column (``inputs.schema.Column``) as the workbook echoes it: its kind from the schema's."""
    if column.kind == schema.QUANTITY:
        unit = column.unit
        kind = (MONEY if unit.startswith("currency") else TONNES if unit in ("t", "t per year")
                else DAYS if unit == "days" else YEARS if unit == "years" else NUMBER)
    else:
        kind = {schema.ID: ID, schema.TEXT: TEXT, schema.RATE: SHARE, schema.YEAR: YEAR, schema.BOOL: FLAG}[column.kind]
    return Column(column.name, kind, column.meaning, column.unit)


# --------------------------------------------------------------------------- Summary labels read back

# The Summary sheet's headline labels, which results.portfolio reads back: a pathway's objective is a
# present value (every year discounted to the first), never a cost per year.
LEVERS_SECTION = "Annual cost by lever"
PATHWAY_LEVERS_SECTION = "Cost by lever, present value"


def total_label(pathway: bool, elastic: bool = False, currency: str | None = None) -> str:
    """"total annual cost", "total cost, present value" (a pathway), "... in JPY", "elastic ... (incl. penalty)"."""
    label = ("elastic" if elastic else "total") + (" cost" if pathway else " annual cost")
    label += f" in {currency}" if currency else ""
    label += ", present value" if pathway else ""
    return label + (" (incl. penalty)" if elastic else "")


def levers_section(pathway: bool) -> str:
    return PATHWAY_LEVERS_SECTION if pathway else LEVERS_SECTION
