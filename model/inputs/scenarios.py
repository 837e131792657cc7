"""Joint scenarios: the distribution of a year's disruptions (docs/model.md §12).

Each scenario of the ``disruptions`` table is an *event* ``e`` that happens
in a year independently of the others with its probability ``p_e``.  A
*joint scenario* ``s`` is the set ``E_s`` of events that happen in one year
(the quiet year, with none, included), with probability

    pi_s = prod_{e in E_s} p_e * prod_{e not in E_s} (1 - p_e),

so that ``sum_s pi_s = 1``.  Its rows are the union of its events' rows, so
``a[e,s]``, ``D[m,s]``, ``rho[m,s]`` and the price uplift ``P[e,s]`` are the
max over them (``disruptions.combine``): losses of several events on one
flow combine as the largest, not the sum.

With at most ``EXACT_MAX_EVENTS`` events every subset is enumerated (2^n
joint scenarios, those of probability 0 left out).  With more, ``N =
policy.scenario_samples`` years are drawn with ``policy.scenario_seed``
(each event by its own probability, independently), each of weight ``1/N``;
identical years are merged into one joint scenario of weight (count)/N.

Plain data only; the stochastic model (CVaR) and the risk report read it.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from .data import ModelData
from .disruptions import Scenario, combined, scenarios_from_data

EXACT_MAX_EVENTS = 12  # 2^12 = 4,096 joint scenarios at most when enumerating
QUIET = "quiet year"
JOIN = " + "


@dataclass(frozen=True)
class Distribution:
    """The joint scenarios of a year (probabilities summing to 1) and how they were obtained."""

    scenarios: tuple[Scenario, ...]  # sorted by name; each has its events as ``parts``
    events: tuple[Scenario, ...]  # the disruptions table's scenarios
    method: str  # "exact" (every subset) or "sampled"
    draws: int | None = None  # sampled: N years drawn
    seed: int | None = None

    def describe(self) -> str:
        if self.method == "exact":
            return (f"{len(self.scenarios):,} joint scenarios: every set of the {len(self.events)} events "
                    f"(exact enumeration)")
        return (f"{len(self.scenarios):,} joint scenarios: {self.draws:,} sampled years (seed {self.seed}) "
                f"over {len(self.events)} events, identical years merged")


def joint_name(events) -> str:
    """A joint scenario's name: its events' names joined by " + ", or "quiet year" for none."""
    return JOIN.join(e.name for e in events) or QUIET


def joint_scenarios(data: ModelData, events: list[Scenario] | None = None, sample: bool | None = None
                    ) -> Distribution:
    """The joint scenarios of ``events`` (default: the disruptions table).  ``sample``: None enumerates when
    there are at most EXACT_MAX_EVENTS events and samples otherwise; True or False forces one way."""
    events = sorted(scenarios_from_data(data) if events is None else events, key=lambda e: e.name)
    if sample is None:
        sample = len(events) > EXACT_MAX_EVENTS
    if not sample:
        return Distribution(tuple(enumerate_joint(events)), tuple(events), "exact")
    draws, seed = data.policy.scenario_samples, data.policy.scenario_seed
    return Distribution(tuple(sample_joint(events, draws, seed)), tuple(events), "sampled", draws, seed)


def enumerate_joint(events: list[Scenario]) -> list[Scenario]:
    """Every set of events with its probability prod p * prod (1 - p); sets of probability 0 left out."""
    scenarios = []
    for pattern in itertools.product((False, True), repeat=len(events)):
        probability = math.prod(e.probability if happens else 1.0 - e.probability
                                for e, happens in zip(events, pattern))
        if probability > 0:
            chosen = [e for e, happens in zip(events, pattern) if happens]
            scenarios.append(combined(joint_name(chosen), probability, chosen))
    return sorted(scenarios, key=lambda s: s.name)


def sample_joint(events: list[Scenario], draws: int, seed: int) -> list[Scenario]:
    """``draws`` years, event e happening in each with probability p_e (a seeded numpy Generator);
    identical years merged, each joint scenario weighted by its count / draws."""
    import numpy as np

    generator = np.random.default_rng(seed)
    probabilities = np.array([e.probability for e in events], dtype=float)
    happened = generator.random((draws, len(events))) < probabilities  # one row per year
    counts: dict[tuple[bool, ...], int] = {}
    for row in happened:
        key = tuple(bool(v) for v in row)
        counts[key] = counts.get(key, 0) + 1
    scenarios = []
    for pattern, count in counts.items():
        chosen = [e for e, happens in zip(events, pattern) if happens]
        scenarios.append(combined(joint_name(chosen), count / draws, chosen))
    return sorted(scenarios, key=lambda s: s.name)


def recourse_scenarios(data: ModelData) -> tuple[list[Scenario], Distribution | None]:
    """The scenarios the objective's recourse term prices: none in rule mode; each event alone, weighted by
    its probability (risk_measure "expected"); or the joint scenarios (risk_measure "cvar")."""
    if data.policy.stockpile_mode != "stochastic":
        return [], None
    if data.policy.risk_measure == "cvar":
        distribution = joint_scenarios(data)
        return list(distribution.scenarios), distribution
    return scenarios_from_data(data), None
