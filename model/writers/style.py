"""How critmin's workbooks look, in one place: fonts, fills, colours and number formats.

Every workbook (results.xlsx, sweep.xlsx, the input template) takes its
styles from here, and a cell's number format follows from the kind of its
column (``results.columns`` for outputs, ``inputs.schema`` for inputs),
never from its name.
"""

from __future__ import annotations

import math
import zlib

from openpyxl.styles import Border, Font, PatternFill, Side

from ..inputs import schema
from ..results import columns as kinds

# --------------------------------------------------------------------------- fonts, fills, borders

BLUE = "1F4E78"  # headers, titles, the Summary tab
GREY = "595959"  # notes
HEADER_FILL = PatternFill("solid", fgColor=BLUE)
HEADER_FONT = Font(bold=True, color="FFFFFF")
NOTE_FONT = Font(italic=True, color=GREY)
SMALL_NOTE_FONT = Font(italic=True, color=GREY, size=9)
NOTE_FILL = PatternFill("solid", fgColor="F2F2F2")
TITLE_FONT = Font(bold=True, size=14, color=BLUE)
SECTION_FONT = Font(bold=True, size=12, color=BLUE)
SECTION_BORDER = Border(bottom=Side(style="medium", color=BLUE))
THIN_BORDER = Border(bottom=Side(style="thin", color="BFBFBF"))
LINK_FONT = Font(color="0563C1", underline="single")
TABLE_LINK_FONT = Font(bold=True, color=BLUE, underline="single")
CODE_FONT = Font(name="Courier New")
BOLD_FONT = Font(bold=True)
README_TITLE_FONT = Font(bold=True, size=14)
README_HEAD_FONT = Font(bold=True, size=11)
AT_CAP_FILL = PatternFill("solid", fgColor="F8CBAD", bgColor="F8CBAD")
AT_CAP_FONT = Font(bold=True, color="9C0006")
CHOSEN_FILL = PatternFill("solid", fgColor="C6EFCE", bgColor="C6EFCE")
SHORT_FONT = Font(bold=True, color="C00000")
TAB_SUMMARY, TAB_INPUT, TAB_OPTIONAL, TAB_README = BLUE, "A6A6A6", "8EA9DB", "C00000"  # sheet tabs

# --------------------------------------------------------------------------- colours

# Chart series in order (a sweep's lines, any series without a colour of its own).
SERIES = ("1F77B4", "FF7F0E", "2CA02C", "D62728", "9467BD", "8C564B", "E377C2", "7F7F7F", "BCBD22", "17BECF",
          "393B79", "637939")
OTHER_COLOUR = "A6A6A6"  # "other" and the rest of the world
LINE_COLOUR = "C00000"  # a cap drawn over bars
LEVER_COLOURS = {"market": "1F77B4", "equity": "FF7F0E", "recycling": "2CA02C", "stockpile": "9467BD",
                 "recourse": "D62728"}
STAGE_COLOURS = {"mine": "8C564B", "refine": "1F77B4"}

# One colour per country, the same in every chart of every run (never by rank, which changes with the
# data): the countries that matter for critical minerals have their own, all distinct; any other code
# gets one of ``COUNTRY_SPARE`` by a checksum of the code (stable across runs and Python versions).
COUNTRY_COLOURS = {
    "CHN": "D62728", "AUS": "1F77B4", "CHL": "2CA02C", "COD": "FF7F0E", "IDN": "9467BD", "PHL": "8C564B",
    "ARG": "17BECF", "ZAF": "E377C2", "GAB": "BCBD22", "RUS": "393B79", "CAN": "AD494A", "USA": "6B6ECF",
    "BRA": "8CA252", "JPN": "E7BA52", "KOR": "843C39", "FIN": "3182BD", "NOR": "637939", "BEL": "7B4173",
    "MMR": "E6550D", "MDG": "31A354", "MOZ": "756BB1", "NCL": "636363", "IND": "FD8D3C", "GHA": "74C476",
    "ZWE": "9E9AC8", "TZA": "FDAE6B", "CUB": "A1D99B", "MAR": "BCBDDC", "MYS": "D6616B", "VNM": "CEDB9C",
    "DEU": "5254A3", "FRA": "B5CF6B", "EST": "CE6DBD", "GBR": "DE9ED6", "ESP": "E7969C", "PER": "BD9E39",
    "MEX": "8C6D31", "TUR": "E7CB94", "KAZ": "9C9EDE", "MNG": "C49C94", "BOL": "F7B6D2", "ZMB": "DBDB8D",
    "UKR": "9EDAE5", "SWE": "AEC7E8", "NLD": "FFBB78", "THA": "98DF8A", "PNG": "FF9896", "NAM": "C5B0D5",
}
COUNTRY_SPARE = ("1B9E77", "D95F02", "7570B3", "E7298A", "66A61E", "E6AB02", "A6761D", "1F78B4", "33A02C",
                 "FB9A99", "E31A1C", "FDBF6F", "CAB2D6", "6A3D9A", "B15928", "8DD3C7", "BEBADA", "FB8072")


def country_colour(code: str) -> str:
    """The colour of a country (ISO alpha-3 code) in every chart of every run; grey for "other"."""
    if code == "other":
        return OTHER_COLOUR
    key = str(code).upper()
    return COUNTRY_COLOURS.get(key) or COUNTRY_SPARE[zlib.crc32(key.encode()) % len(COUNTRY_SPARE)]


# --------------------------------------------------------------------------- number formats

MONEY, MONEY_SMALL, TONNES, PERCENT, GAP, DAYS, YEAR, SECONDS = (
    "#,##0", "#,##0.00", "#,##0", "0.0%", "0.0000%", "#,##0.0", "0", "0.00")
WHOLE, DECIMAL = "#,##0", "#,##0.###"
SCALED = "#,##0.0"  # a chart's pivot in millions or thousands

# A column kind's fixed format; money follows its magnitude, plain numbers their decimals, text none.
KIND_FORMATS = {kinds.TONNES: TONNES, kinds.SHARE: PERCENT, kinds.GAP: GAP, kinds.DAYS: DAYS, kinds.YEAR: YEAR,
                kinds.YEARS: YEAR, kinds.SECONDS: SECONDS}
TEXT_KINDS = (kinds.ID, kinds.TEXT, kinds.FLAG)


def numbers_of(values) -> list[float]:
    return [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)]


def number_format(kind: str | None, values) -> str | None:
    """The number format of a column of this kind holding ``values`` (None: leave the cell as it is).

    Money shows cents below 1,000; a column with no kind (an undeclared one) shows its numbers as they are.
    """
    numbers = numbers_of(values)
    if not numbers or kind in TEXT_KINDS:
        return None
    if kind == kinds.MONEY:
        return MONEY if max(abs(v) for v in numbers) >= 1000 else MONEY_SMALL
    if kind in KIND_FORMATS:
        return KIND_FORMATS[kind]
    return WHOLE if all(float(v).is_integer() for v in numbers) else DECIMAL


def item_format(kind: str | None, value) -> str | None:
    """A Summary item's format: its kind's (``percent`` is a share), money in whole units."""
    if kind == kinds.MONEY:
        return MONEY if numbers_of([value]) else None
    return number_format(kinds.SHARE if kind == "percent" else kind, [value])


def input_number_format(kind: str, values) -> str | None:
    """The input template's formats (``inputs.schema`` kinds): whole years, quantities with thousands
    separators when whole (else as typed), everything else as typed."""
    if kind == schema.YEAR:
        return YEAR
    if kind == schema.QUANTITY:
        numbers = numbers_of(values)
        return WHOLE if all(float(v).is_integer() for v in numbers) else "General"
    return None


def shown(value, fmt: str | None) -> str:
    """Roughly how a value displays under a format, for column widths."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if isinstance(value, bool):
        return "FALSE"
    if isinstance(value, (int, float)):
        if fmt in (PERCENT, GAP):
            return f"{value:.4%}" if fmt == GAP else f"{value:.1%}"
        return f"{value:,.2f}" if fmt in (MONEY_SMALL, DAYS) else f"{value:,.0f}"
    return str(value)
