"""Sensitivity results as plain data: one row per point, the decisions that flip, the tornado's order.

Every point is one input group moved by one change (``inputs.sensitivity``)
and solved; its record is a grid record (``results.sweep.point_record`` with
``detail``).  Against the base point (no change):

- ``delta`` is the point's objective minus the base objective (annual cost;
  a pathway's discounted total);
- a *flip* is a decision the point takes otherwise: a stake or plant chosen or
  left out, the largest foreign country of a mineral at a stage, a country cap
  that binds or no longer binds.  A new largest country is no flip when the
  base's country still has as large a share, or when a tie at equal cost
  (results.ties) lets the point's tonnes move back to the base's country at
  no cost: which of them is largest is then the solver's pick, not the
  model's answer.
  A point without a solution (infeasible, invalid) has no delta and no flips:
  its status says why;
- the tornado ranks the groups by their largest ``|delta|`` over the changes
  (``swing``), ties by name.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .sweep import SOLVED

BASE = "base"  # the group name of the base point
SHARE_TOLERANCE = 1e-6  # two shares closer than this tie (shares are fractions of the requirement)
DECISIONS = ("stake", "plant", "largest country", "binding cap")


@dataclass(frozen=True)
class Point:
    group: str  # "prices:lithium", or BASE
    kind: str
    item: str
    change: float  # percent, signed: -20.0, +20.0 (0 for the base)
    factor: float
    overrides: tuple[str, ...]  # the --set strings that repeat this point as a plain run
    record: dict


def solved(record: dict) -> bool:
    return record["status"] in SOLVED and record["objective"] is not None


def flips(base: dict, record: dict) -> list[dict]:
    """The decisions ``record`` takes otherwise than ``base``: {decision, item, base, point}."""
    if not (solved(base) and solved(record)):
        return []
    rows = []
    for decision, key in (("stake", "projects_chosen"), ("plant", "plants_built")):
        before, after = set(base[key]), set(record[key])
        rows += [dict(decision=decision, item=name, base="chosen", point="left out") for name in sorted(before - after)]
        rows += [dict(decision=decision, item=name, base="left out", point="chosen") for name in sorted(after - before)]
    for mineral in sorted(set(base["minerals"]) | set(record["minerals"])):
        for stage in ("mine", "refine"):
            was = base["minerals"].get(mineral, {}).get(f"largest_{stage}_country", "")
            now = record["minerals"].get(mineral, {}).get(f"largest_{stage}_country", "")
            if was == now:
                continue
            shares = record.get("shares", {}).get(mineral, {}).get(stage, {})
            if was and now and shares.get(was, 0.0) >= shares.get(now, 0.0) - SHARE_TOLERANCE:
                continue  # the base's country still ties for the largest share
            ties = record.get("ties", {}).get(mineral, {}).get(stage, [])
            if was and any(now in tie["used"] and was in tie["room"] for tie in ties):
                continue  # a tie at equal cost: tonnes could move back to the base's country at no cost
            rows.append(dict(decision="largest country", item=f"{mineral} {stage}", base=was or "none",
                             point=now or "none"))
    before, after = set(base.get("binding_caps", [])), set(record.get("binding_caps", []))
    rows += [dict(decision="binding cap", item=cap, base="binding", point="slack") for cap in sorted(before - after)]
    rows += [dict(decision="binding cap", item=cap, base="slack", point="binding") for cap in sorted(after - before)]
    return rows


def _flip_text(rows: list[dict], decision: str) -> str:
    of = [r for r in rows if r["decision"] == decision]
    if decision == "largest country":
        return "; ".join(f"{r['item']} {r['base']}->{r['point']}" for r in of)
    if decision == "binding cap":
        return "; ".join(f"{r['item']} {'binds' if r['point'] == 'binding' else 'released'}" for r in of)
    return "; ".join(f"{r['item']} {'in' if r['point'] == 'chosen' else 'out'}" for r in of)


def sensitivity_table(points: list[Point]) -> pd.DataFrame:
    """One row per point, the base first: group, kind, item, change (percent), factor, status, objective,
    delta (objective - base objective), delta_share (of the base objective), the flips (stakes and plants
    in or out, largest countries that change, caps that bind or are released), and the --set values
    (space-separated) that repeat the point as a plain run."""
    base = next(p.record for p in points if p.group == BASE)
    reference = base["objective"] if solved(base) else None
    rows = []
    for p in points:
        record = p.record
        objective = record["objective"] if solved(record) else None
        delta = objective - reference if objective is not None and reference is not None else None
        changed = flips(base, record)
        rows.append(dict(
            group=p.group, kind=p.kind, item=p.item, change=p.change, factor=p.factor, status=record["status"],
            objective=objective, delta=delta,
            delta_share=delta / reference if delta is not None and reference else None,
            stakes="; ".join(t for t in (_flip_text(changed, "stake"), _flip_text(changed, "plant")) if t),
            largest_country=_flip_text(changed, "largest country"),
            binding_caps=_flip_text(changed, "binding cap"),
            flips=len(changed),
            overrides=" ".join(p.overrides),
            message=record.get("message", ""),
            seconds=record["seconds"],
            reused=bool(record.get("reused", False)),
        ))
    return pd.DataFrame(rows)


def flip_table(points: list[Point]) -> pd.DataFrame:
    """Every flip, one row each: group, change, decision, item, base, point (in the order of the points)."""
    base = next(p.record for p in points if p.group == BASE)
    rows = [dict(group=p.group, change=p.change, **row) for p in points if p.group != BASE
            for row in flips(base, p.record)]
    return pd.DataFrame(rows, columns=["group", "change", "decision", "item", "base", "point"])


def delta_column(change: float) -> str:
    """The tornado's column of the deltas at a signed change: ``delta_-20%``, ``delta_+20%``."""
    return f"delta_{change:+g}%"


def tornado(table: pd.DataFrame, changes: list[float]) -> pd.DataFrame:
    """One row per group, largest swing first: group, then the delta at -c and +c for every change c
    (largest change first), swing (the largest |delta|) and flips (how many, over its points)."""
    rows = []
    points = table[table["group"] != BASE]
    for group, of in points.groupby("group", sort=False):
        row = {"group": group}
        deltas = []
        for change in sorted(changes, reverse=True):
            for signed in (-change, change):
                hit = of[of["change"] == signed]
                value = hit["delta"].iloc[0] if len(hit) else None
                value = None if value is None or value != value else float(value)
                row[delta_column(signed)] = value
                deltas.append(value)
        known = [abs(v) for v in deltas if v is not None]
        row["swing"] = max(known) if known else None
        row["flips"] = int(of["flips"].sum())
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["_order"] = [-(s if s is not None and s == s else -1.0) for s in frame["swing"]]
    return frame.sort_values(["_order", "group"], kind="stable").drop(columns="_order").reset_index(drop=True)
