"""The worst set of K countries to lose (``critmin stress --worst K``, docs/model.md §12).

For a fixed portfolio in one planned year, every set ``C`` of ``K`` foreign
countries that appear at either stage of any route or project (bought or
not: losing a country whose routes are unused still removes their spare
capacity) is lost at once, each as in N-1 (every mineral, both stages,
loss 1, for ``stockpile_days``, 90 when 0).  The scenario of ``C`` has the
union of the N-1 rows of its countries, so its constants are the max over
theirs (``disruptions.combine``).  Each set's extra cost

    R_C = sum_m R[m, C]     (each mineral's recourse minimised on its own by results.stress.evaluate)

and unmet tonnes ``sum_m n[m, C]`` (tonnes of each mineral's unit, summed)
are exact.  The search is exhaustive: all ``C(n, K)`` sets are evaluated,
no bound prunes any, so the reported maxima are the true ones (ties broken
by the countries' codes).  ``C(35, 3) = 6,545`` sets on the default data.
"""

from __future__ import annotations

import itertools
import math
import time

from ..inputs.data import ModelData
from ..inputs.disruptions import Scenario, combined, country_loss, foreign_countries
from .risk import scenario_outcomes

CHUNK = 500  # sets evaluated per call of the evaluator
LISTED = 5  # sets listed per criterion
UNMET_TOLERANCE = 1e-6  # tonnes: below this a set leaves nothing unmet


def set_name(countries) -> str:
    return "lose " + " + ".join(countries)


def set_scenario(data: ModelData, countries, singles: dict[str, Scenario] | None = None) -> Scenario:
    """The simultaneous loss of ``countries`` (each as its N-1 scenario), probability 0."""
    singles = singles or {}
    return combined(set_name(countries), 0.0, [singles.get(c) or country_loss(data, c) for c in countries])


def worst_sets(data: ModelData, flows: dict, stock: dict[str, float], year: int, k: int) -> dict:
    """Every set of ``k`` foreign countries lost at once, evaluated exactly: the costliest sets and the sets
    leaving most tonnes unmet (``LISTED`` of each, worst first), with the search's size and time."""
    start = time.perf_counter()
    countries = foreign_countries(data)
    if not 1 <= k <= len(countries):
        raise ValueError(f"K must be from 1 to {len(countries)} (the foreign countries on a route or project)")
    singles = {c: country_loss(data, c) for c in countries}
    cache: dict = {}
    results = []
    combos = itertools.combinations(countries, k)
    while True:
        chunk = list(itertools.islice(combos, CHUNK))
        if not chunk:
            break
        outcomes = scenario_outcomes(data, flows, stock, [set_scenario(data, c, singles) for c in chunk], year, cache)
        results += [(combo, float(cost), float(unmet))
                    for combo, cost, unmet in zip(chunk, outcomes["extra_cost"], outcomes["unmet_t"])]

    def listed(position: int) -> list[dict]:
        """The worst sets by cost (position 1) or unmet tonnes (2); sets leaving nothing unmet are not listed
        as the most unmet."""
        ranked = sorted((r for r in results if position == 1 or r[2] > UNMET_TOLERANCE),
                        key=lambda r: (-r[position], r[0]))[:LISTED]
        return [{"countries": list(combo), "extra_cost": cost, "unmet_t": unmet} for combo, cost, unmet in ranked]

    sets = math.comb(len(countries), k)
    assert len(results) == sets
    return {
        "k": k,
        "year": year,
        "countries_considered": len(countries),
        "sets_evaluated": sets,
        "method": f"exhaustive: all C({len(countries)}, {k}) = {sets:,} sets of foreign countries on a route or "
                  f"project, each evaluated exactly (results.stress.evaluate), none pruned",
        "duration_days": singles[countries[0]].hits[0].duration_days if countries else None,
        "costliest": listed(1),
        "most_unmet": listed(2),
        "seconds": time.perf_counter() - start,
    }
