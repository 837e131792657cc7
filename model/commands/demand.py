"""``critmin demand RUN.toml [--out DIR]``: derive requirements from the demand drivers.

Prints, per mineral, the requirement derived from battery GWh, the
chemistry mix, magnet output and other uses, against the targets table,
and writes the full derivation (per year, mineral, chemistry) to
``demand.csv``.  Works whether or not the run uses ``targets = "derived"``.
The two tables and ``demand-manifest.json`` (their SHA-256 and the inputs')
are committed as one set (``writers.staging``).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from .common import EXIT_SOLVED, add_force_argument, check_out_folder, default_out, manifest_head

MANIFEST = "demand-manifest.json"
OUTPUT_FILES = ("demand.csv", "demand_targets.csv", MANIFEST)


def add_parser(commands) -> None:
    parser = commands.add_parser("demand", help="derive mineral requirements from battery and magnet output")
    parser.add_argument("run", type=Path, help="run file (TOML)")
    parser.add_argument("--out", type=Path, help="output folder (default runs/out/<name>/ beside the run file)")
    add_force_argument(parser)


def run(arguments) -> int:
    from .. import __version__
    from ..inputs.demand import comparison, derive
    from ..inputs.overrides import overridden
    from ..inputs.runfile import check_run_against_data, load_run
    from ..inputs.validate import load_dataset
    from ..writers.files import write_csv, write_json
    from ..writers.staging import output_hashes, staged_outputs

    run_file = load_run(arguments.run)
    dataset = overridden(load_dataset(run_file.data), run_file)  # the run file's data overrides (set = [...])
    check_run_against_data(run_file, dataset)
    inputs = SimpleNamespace(run=run_file, dataset=dataset)
    out = arguments.out or default_out(arguments.run, run_file.name)
    check_out_folder(out, inputs, OUTPUT_FILES, manifest=MANIFEST, force=arguments.force)
    derivation = derive(dataset, run_file.years, run_file.demand.chemistry_share)
    compared = comparison(dataset, derivation)
    with staged_outputs(out, OUTPUT_FILES, manifest=MANIFEST) as stage:
        write_csv(stage / "demand.csv", derivation.table)
        write_csv(stage / "demand_targets.csv", compared)
        write_json(stage / MANIFEST, {**manifest_head(inputs), "versions": {"critmin": __version__},
                                      "outputs": output_hashes(stage, MANIFEST)})
    print(format_derivation(derivation.table, compared))
    print(f"\noutputs: {out}")
    return EXIT_SOLVED


def format_derivation(table, compared) -> str:
    lines = []
    for year, rows in table.groupby("year"):
        lines.append(f"requirements derived for {year}")
        header = f"{'mineral':<10}{'driver':<9}{'item':<16}{'quantity':>12}  {'intensity':<30}{'t':>12}"
        lines += [header, "-" * len(header)]
        for row in rows.itertuples():
            lines.append(f"{row.mineral:<10}{row.driver:<9}{row.item[:15]:<16}{row.quantity:>9,.1f} "
                         f"{row.quantity_unit:<3}  {row.intensity:>8,.4g} {row.intensity_unit[:21]:<21}"
                         f"{row.tonnes:>12,.0f}")
    lines += ["", f"{'year':<6}{'mineral':<10}{'derived t':>12}{'targets t':>12}{'difference':>12}"]
    for row in compared.itertuples():
        table_t = "-" if row.targets_table_t is None or row.targets_table_t != row.targets_table_t \
            else f"{row.targets_table_t:,.0f}"
        difference = "-" if row.difference is None or row.difference != row.difference else f"{row.difference:+.1%}"
        lines.append(f"{row.year:<6}{row.mineral:<10}{row.derived_t:>12,.0f}{table_t:>12}{difference:>12}")
    return "\n".join(lines)
