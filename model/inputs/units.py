"""Declared units: a mass (t or kg) and a basis ("LCE", "Li", "Ni", "NdPr oxide", ...).

Quantities convert between units only through the mass prefix and, for a
different basis, a declared ``unit_conversions`` row (e.g. Li -> LCE,
5.323).  Anything else is a mismatch and an error: tonnes of Li content are
never silently added to tonnes of LCE.
"""

from __future__ import annotations

from dataclasses import dataclass

MASS_IN_TONNES = {"t": 1.0, "kg": 1e-3}


@dataclass(frozen=True)
class Unit:
    mass: str
    basis: str

    @property
    def tonnes(self) -> float:
        return MASS_IN_TONNES[self.mass]

    def __str__(self) -> str:
        return f"{self.mass} {self.basis}"


def parse_unit(text: str) -> Unit | None:
    """'kg Li' -> Unit('kg', 'Li'); None when the text is not '<t|kg> <basis>'."""
    parts = str(text).strip().split(maxsplit=1)
    if len(parts) != 2 or parts[0] not in MASS_IN_TONNES:
        return None
    return Unit(parts[0], parts[1].strip())


def factor(source: Unit, target: Unit, conversions: dict[tuple[str, str], float]) -> float | None:
    """Multiply a quantity in ``source`` by this to get ``target``; None when no conversion is declared."""
    if source.basis == target.basis:
        basis = 1.0
    elif (source.basis, target.basis) in conversions:
        basis = conversions[source.basis, target.basis]
    elif (target.basis, source.basis) in conversions and conversions[target.basis, source.basis] > 0:
        basis = 1.0 / conversions[target.basis, source.basis]
    else:
        return None
    return source.tonnes / target.tonnes * basis
