"""critmin: the cheapest critical-mineral procurement portfolio under supply-security limits.

Flow: ``inputs`` (read and validate tables and the run file) -> ``optimization``
(build the MILP, solve with HiGHS) -> ``results`` (tidy tables) -> ``writers``
(xlsx, json, csv, terminal).
"""

__version__ = "0.1.0"
