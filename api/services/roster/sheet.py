"""Reading the roster's first sheet, bounded before openpyxl reads a cell.

An .xlsx is a zip of XML: a few KB can declare a million blank rows, a row far down the sheet
(openpyxl fills the gap with empty rows) or a row of a million cells. So the sheet's XML is
first counted as it streams — rows (blank ones too, and gaps by their row numbers), columns and
cells — and refused at the first one past a limit; only a sheet within every limit is read.
This is CPU work of up to a second: callers run it in a thread.
"""

import pyexpat
import re
from io import BytesIO
from typing import Any, Final
from zipfile import BadZipFile, ZipFile

from openpyxl.reader.excel import ExcelReader
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

from api.errors import RosterColumnsMissing, RosterEmpty, RosterTooLarge, RosterUnreadable
from api.schemas.roster import RosterRowError

MAX_ROWS: Final = 5000  # below the header, blank rows included
MAX_COLUMNS: Final = 50
MAX_CELLS: Final = 100_000
MAX_UNPACKED_BYTES: Final = 20 * 1024 * 1024
REQUIRED_COLUMNS: Final = ("姓名", "手机号", "支部", "党小组", "政治面貌")
OPTIONAL_COLUMNS: Final = ("类别", "职务")
COLUMNS: Final = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
_CHUNK: Final = 64 * 1024
_CELL_COLUMN = re.compile(r"^([A-Z]{1,3})\d*$")

# (Excel row number, {column name: cell value}) for each row that is not blank.
Table = list[tuple[int, dict[str, Any]]]


def read_sheet(content: bytes) -> tuple[Table, frozenset[str]]:
    """The rows that are not blank, and which columns the header has."""
    reader = _reader(content)
    try:
        _check_bounds(reader.archive, _first_worksheet(reader))
        try:
            reader.read()
        except (BadZipFile, KeyError, ValueError, TypeError, OSError) as exc:
            raise RosterUnreadable() from exc
        sheet = reader.wb.worksheets[0] if reader.wb.worksheets else None
        if not isinstance(sheet, ReadOnlyWorksheet):
            raise RosterUnreadable()
        # The sheet's own <dimension> may claim any size: read only the rows that exist.
        sheet.reset_dimensions()
        return _table(sheet)
    finally:
        reader.archive.close()


def _reader(content: bytes) -> ExcelReader:
    """openpyxl's reader of the file, refused if the file would unpack to far more than any
    roster (a zip bomb)."""
    try:
        reader = ExcelReader(BytesIO(content), read_only=True, data_only=True)
    except (BadZipFile, OSError) as exc:
        raise RosterUnreadable() from exc
    if sum(member.file_size for member in reader.archive.infolist()) > MAX_UNPACKED_BYTES:
        reader.archive.close()
        raise RosterUnreadable()
    return reader


def _first_worksheet(reader: ExcelReader) -> str:
    """The zip member of the sheet openpyxl will read first, found as its `read_worksheets`
    finds it, but before openpyxl reads any sheet (it scans a sheet to size it)."""
    try:
        reader.read_manifest()
        reader.read_workbook()
        parts: list[str] = [
            rel.target
            for _, rel in reader.parser.find_sheets()
            if rel.target in reader.valid_files and "chartsheet" not in (rel.Type or "")
        ]
    except (KeyError, ValueError, TypeError, OSError) as exc:
        raise RosterUnreadable() from exc
    if not parts:
        raise RosterUnreadable()
    return parts[0]


class _PastLimit(Exception):
    pass


class _Bounds:
    """Counts the sheet's rows, columns and cells as the XML streams by."""

    def __init__(self) -> None:
        self.row = 0
        self.column = 0
        self.cells = 0

    def start(self, tag: str, attributes: dict[str, str]) -> None:
        name = tag.rpartition(":")[2]
        if name == "row":
            number = attributes.get("r", "")
            self.row = int(number) if number.isdigit() else self.row + 1
            self.column = 0
            if self.row > MAX_ROWS + 1:
                raise _PastLimit()
        elif name == "c":
            self.cells += 1
            found = _CELL_COLUMN.match(attributes.get("r", ""))
            self.column = _column_number(found.group(1)) if found else self.column + 1
            if self.column > MAX_COLUMNS or self.cells > MAX_CELLS:
                raise _PastLimit()

    def refuse_doctype(self, *_: Any) -> None:
        raise RosterUnreadable()  # a sheet's XML never declares a DTD (entities)


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


def _check_bounds(archive: ZipFile, part: str) -> None:
    """Refuse the sheet at its first row, column or cell past a limit."""
    bounds = _Bounds()
    parser = pyexpat.ParserCreate()
    parser.StartElementHandler = bounds.start
    parser.StartDoctypeDeclHandler = bounds.refuse_doctype
    try:
        with archive.open(part) as stream:
            while chunk := stream.read(_CHUNK):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
    except _PastLimit as exc:
        raise RosterTooLarge(rows=MAX_ROWS, columns=MAX_COLUMNS, cells=MAX_CELLS) from exc
    except (pyexpat.ExpatError, KeyError, BadZipFile, OSError) as exc:
        raise RosterUnreadable() from exc


def _table(sheet: ReadOnlyWorksheet) -> tuple[Table, frozenset[str]]:
    lines = iter(sheet.values)
    header = [text(cell) for cell in next(lines, ())]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise RosterColumnsMissing(
            columns="、".join(missing),
            detail={
                "errors": [
                    RosterRowError(row=1, column=c, reason="缺少该列").model_dump() for c in missing
                ]
            },
        )
    index = {name: header.index(name) for name in COLUMNS if name in header}
    table: Table = []
    for number, values in enumerate(lines, start=2):
        cells: dict[str, Any] = {
            name: values[i] if i < len(values) else None for name, i in index.items()
        }
        if any(text(v) for v in cells.values()):
            table.append((number, cells))
    if not table:
        raise RosterEmpty()
    return table, frozenset(index)


def text(value: Any) -> str:
    """A cell as text: numbers typed into text columns (a phone) without a trailing ".0"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()
