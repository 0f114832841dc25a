"""Excel exports (Chinese headers, numbers as numbers), written row by row to a temporary file.

Every sheet prints as the secretary posts it: A4 fitted to the page width, a merged title, the
header frozen and repeated on each printed page, thin borders, a page number in the footer;
a column only where the scheme can put something in it; the lines to sign where one signs.

openpyxl's write-only workbook keeps no rows in memory, and the rows come from the database as
a stream, so a county's 公示表 costs the same memory as a branch's. The router streams the
file and deletes it.

- 公示表: a period's ranking with tiers, lists and stars, from the published boards;
- 汇总公示卡: a quarter's points and demerits per member and period (合阳, for the level above);
- 一人一卡: one member's year, every entry with its reason and who approved it (路头村);
- 考核表: the branch-assessment results of a branch scheme (成庄矿, 涌溪);
- 组织生活出勤表: each member's attendance over a period, and every meeting's outcomes (also a
  sheet of the 汇总公示卡).
"""

import asyncio
import re
import tempfile
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, Protocol, cast

import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.cell_range import CellRange
from openpyxl.worksheet.page import PageMargins, PrintOptions, PrintPageSetup
from openpyxl.worksheet.properties import PageSetupProperties, WorksheetProperties
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.access import Action, Principal, Sight, results_in_sight, results_visible, within
from api.errors import (
    ExportPeriodInvalid,
    PeriodNotClosed,
    ResultsNotPublished,
    SubjectKindMismatch,
)
from api.models import (
    EntrySource,
    Member,
    OrgUnit,
    PeriodRecord,
    PeriodStatus,
    Publication,
    ScoreEntry,
    UnitKind,
    id_of,
    utcnow,
)
from api.publication.board import LIST_LABELS, Board, BoardRow
from api.scoring import Period, Scheme, SubjectResult, period_from_key
from api.scoring.periods import SHANGHAI
from api.scoring.scheme import Accumulation, ItemKind, PeriodLength, ScoringMode, SubjectKind
from api.services import meetings
from api.services.members import member_for
from api.services.periods import (
    Scope,
    assessed_branches,
    engine_period,
    member_results,
    plain,
    scope_of,
)
from api.services.publication import build_boards
from api.services.schemes import in_force

EXPORT_YEARS = (2000, 2100)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SOURCES = {
    EntrySource.claim: "个人申报",
    EntrySource.deduction: "扣分登记",
    EntrySource.evaluation: "民主评议",
    EntrySource.assessment: "支部考评",
    EntrySource.adjustment: "手工调整",
    EntrySource.reversal: "冲正",
}
_TITLE = Font(bold=True, size=14)
_HEAD = Font(bold=True)
_HEAD_FILL = PatternFill("solid", fgColor="F2DCDB")
_THIN = Side(style="thin", color="000000")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_CENTRED = Alignment(horizontal="center", vertical="center", wrap_text=True)
_PAPER_A4 = 9  # ECMA-376 paperSize
_HEADER_ROW = 3  # title, note, then the column headers
# Wider tables print across the page: more columns than this turn the A4 to landscape.
_PORTRAIT_COLUMNS = 8
SIGNATURE_LINE = "＿＿＿＿＿＿"


@dataclass(frozen=True)
class Export:
    path: Path
    filename: str


class Sheet:
    """A write-only sheet with a merged title line, a merged note line and a header row, set
    up to print; every cell of every export goes through `cell_value` (via `_cell`)."""

    def __init__(
        self, book: Workbook, title: str, note: str, headers: Sequence[str], widths: Sequence[int]
    ) -> None:
        self.sheet: WriteOnlyWorksheet = book.create_sheet(sheet_title(book, title))
        self.columns = len(headers)
        for index, width in enumerate(widths, start=1):
            self.sheet.column_dimensions[get_column_letter(index)].width = width
        _print_ready(self.sheet, self.columns)
        self.sheet.append([self._cell(title, font=_TITLE, alignment=_CENTRED)])
        self.sheet.append([self._cell(note, alignment=_CENTRED)])
        for row in (1, 2):
            self.sheet.merged_cells.add(
                CellRange(min_col=1, min_row=row, max_col=self.columns, max_row=row)
            )
        self.sheet.append(
            [
                self._cell(header, font=_HEAD, fill=_HEAD_FILL, border=_BORDER, alignment=_CENTRED)
                for header in headers
            ]
        )

    def _cell(
        self,
        value: Any,
        *,
        font: Font | None = None,
        fill: PatternFill | None = None,
        border: Border | None = None,
        alignment: Alignment | None = None,
    ) -> Cell:
        found = cell_value(self.sheet, value)
        cell = found if isinstance(found, Cell) else WriteOnlyCell(self.sheet, value=found)
        if font is not None:
            cell.font = font
        if fill is not None:
            cell.fill = fill
        if border is not None:
            cell.border = border
        cell.alignment = alignment or Alignment(vertical="center", wrap_text=True)
        return cell

    def row(self, values: Iterable[Any], *, bold: bool = False) -> None:
        font = _HEAD if bold else None
        cells = list(values)
        cells += [None] * (self.columns - len(cells))  # a short row is still boxed in
        self.sheet.append([self._cell(value, font=font, border=_BORDER) for value in cells])

    def signatures(self, *labels: str) -> None:
        """The lines signed by hand under the table, spread over its width."""
        self.sheet.append([])
        line: list[Any] = [None] * max(self.columns, len(labels))
        step = max(1, len(line) // len(labels))
        for index, label in enumerate(labels):
            line[index * step] = self._cell(f"{label}：{SIGNATURE_LINE}")
        self.sheet.append(line)


class _Printable(Protocol):
    """What a write-only sheet sets up for printing (openpyxl's `Worksheet._setup`), which
    its type stubs leave out."""

    sheet_properties: WorksheetProperties
    page_setup: PrintPageSetup
    print_options: PrintOptions
    page_margins: PageMargins


def _print_ready(sheet: WriteOnlyWorksheet, columns: int) -> None:
    """A4 fitted to the page width (as many pages down as it takes), centred, the header row
    frozen on screen and repeated on every printed page, page numbers in the footer. Set
    before the first row: a write-only sheet writes its view and properties with it."""
    sheet.freeze_panes = f"A{_HEADER_ROW + 1}"
    sheet.print_title_rows = f"{_HEADER_ROW}:{_HEADER_ROW}"
    printable = cast(_Printable, sheet)
    printable.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    setup = printable.page_setup
    setup.paperSize = _PAPER_A4
    setup.orientation = "landscape" if columns > _PORTRAIT_COLUMNS else "portrait"
    setup.fitToWidth = 1
    setup.fitToHeight = 0
    printable.print_options.horizontalCentered = True
    printable.page_margins = PageMargins(left=0.4, right=0.4, top=0.5, bottom=0.6)
    footer = sheet.HeaderFooter.oddFooter
    if footer is not None:
        footer.center.text = "第 &P 页，共 &N 页"


# Excel, and the other spreadsheets, read a cell typed (or re-saved as CSV) starting with these
# as a formula: =HYPERLINK(…), =cmd|' /C calc'!A0, +1+1, @SUM(…).
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")
# A sheet title may not hold these, nor begin or end with an apostrophe, nor pass 31 characters.
_TITLE_FORBIDDEN: Final = re.compile(r"[\\/?*\[\]:]")
_TITLE_LENGTH: Final = 31
_FILENAME_FORBIDDEN: Final = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')


def cell_value(sheet: WriteOnlyWorksheet, value: Any) -> Any:
    """What every export writes for a value: numbers as numbers, text always as text.

    Decimals become numbers Excel can sum (exact within a spreadsheet's precision). Text that
    Excel could take for a formula or an error value is a string cell with Excel's quote prefix
    (shown as typed, still text when edited), where openpyxl would store "=…" as a live formula;
    characters XML cannot hold are dropped.
    """
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if not isinstance(value, str):
        return value
    text = ILLEGAL_CHARACTERS_RE.sub("", value)
    if not text.startswith(FORMULA_STARTS) and text not in ERROR_CODES:
        return text
    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell


def sheet_title(book: Workbook, wanted: str) -> str:
    """A title Excel accepts, unique in the book: names may hold any character, titles may not."""
    base = _TITLE_FORBIDDEN.sub("_", wanted).strip("'")[:_TITLE_LENGTH].strip("'") or "Sheet"
    title, number = base, 1
    taken = {name.casefold() for name in book.sheetnames}
    while title.casefold() in taken:
        number += 1
        suffix = f"({number})"
        title = base[: _TITLE_LENGTH - len(suffix)] + suffix
    return title


def file_name(*parts: str) -> str:
    """A download's file name from names that may hold any character."""
    return _FILENAME_FORBIDDEN.sub("_", "-".join(parts))


async def _save(book: Workbook, filename: str) -> Export:
    """Finish the workbook in a thread (zipping is CPU work); the router sends and deletes it."""
    handle = tempfile.NamedTemporaryFile(prefix="pioneer-", suffix=".xlsx", delete=False)  # noqa: SIM115
    handle.close()
    await asyncio.to_thread(book.save, handle.name)
    return Export(Path(handle.name), filename)


# --- 公示表 ------------------------------------------------------------------------------------


async def ranking(
    session: AsyncSession, principal: Principal, period: PeriodRecord, scope: Scope, unit: OrgUnit
) -> Export:
    """The period's boards inside `unit` the reader sees: published ones, or an officer's
    preview of a close."""
    if period.status == PeriodStatus.open:
        raise PeriodNotClosed()
    status = PeriodStatus(period.status)
    if results_visible(principal, status, unit.path) is Sight.NONE:
        raise ResultsNotPublished()
    published = status is PeriodStatus.published
    book = Workbook(write_only=True)
    label = engine_period(scope.scheme, period).label
    note = "已公示" if published else "已结算，尚未公示（预览）"
    columns = ranking_columns(scope.scheme)
    sheet = Sheet(
        book,
        f"{label}公示表",
        f"{scope.scheme.name} · {unit.name} · {note}",
        [column.header for column in columns],
        [column.width for column in columns],
    )
    async for board in _boards(session, principal, period, scope, unit):
        for row in board.rows:
            sheet.row(column.value(board, row) for column in columns)
    sheet.signatures("制表人", "审核人", "日期")
    return await _save(book, file_name(period.key, unit.name, "公示表.xlsx"))


@dataclass(frozen=True)
class Column:
    header: str
    width: int
    value: Callable[[Board, BoardRow], Any]


def ranking_columns(scheme: Scheme) -> list[Column]:
    """The 公示表's columns: only those the scheme can fill (no 红黄榜 without lists…)."""
    member = scheme.subject_kind is SubjectKind.MEMBER
    demerit = scheme.scoring.mode is ScoringMode.DEMERIT
    tiers = scheme.tiering.tiers if scheme.tiering else ()
    flagged = scheme.ranking is not None and bool(scheme.ranking.flags)
    wanted: list[tuple[bool, Column]] = [
        (True, Column("支部", 18, lambda board, _: board.unit_name)),
        (True, Column("排名", 6, lambda _, row: row.rank)),
        (True, Column("姓名" if member else "单位", 12, lambda _, row: row.name)),
        (member, Column("党小组", 14, lambda _, row: row.group)),
        (True, Column("累计记分" if demerit else "得分", 10, lambda _, row: row.total)),
        (bool(tiers), Column("档次", 10, lambda _, row: _tier(row))),
        (
            any(tier.list_color for tier in tiers),
            Column("红黄榜", 8, lambda _, row: LIST_LABELS.get(row.list_color or "")),
        ),
        (scheme.stars is not None, Column("本期红星", 9, lambda _, row: row.stars)),
        (scheme.stars is not None, Column("本年红旗", 9, lambda _, row: row.cycle_flags)),
        # Without tiers, an exempt subject is said so here.
        (flagged or not tiers, Column("标记", 14, lambda _, row: _marks(row, bool(tiers)))),
        (
            any(tier.money is not None for tier in tiers),
            Column("金额（元）", 10, lambda _, row: row.money),
        ),
        (scheme.award_bar is not None, Column("评先评优", 24, lambda _, row: _award(row))),
    ]
    return [column for used, column in wanted if used]


def _tier(row: BoardRow) -> str | None:
    return "免于考核" if row.exempt else row.tier_label


def _marks(row: BoardRow, tiered: bool) -> str | None:
    marks = [*row.flags, *(["免于考核"] if row.exempt and not tiered else [])]
    return "、".join(marks) or None


def _award(row: BoardRow) -> str | None:
    if row.award_eligible is None:
        return None
    return "可推荐" if row.award_eligible else f"不得推荐：{row.award_reason}"


async def _boards(
    session: AsyncSession, principal: Principal, period: PeriodRecord, scope: Scope, unit: OrgUnit
) -> AsyncIterator[Board]:
    status = PeriodStatus(period.status)
    if status is not PeriodStatus.published:
        for board, path in await build_boards(session, period, scope, utcnow()):
            seen = results_visible(principal, status, path)
            if path.startswith(unit.path) and seen is not Sight.NONE:
                yield board
        return
    stream = await session.stream_scalars(
        select(Publication.board)
        .where(
            col(Publication.period_id) == period.id,
            col(Publication.close_no) == period.close_count,
            within(col(Publication.unit_path), [unit.path]),
            results_in_sight(
                principal,
                status,
                path=col(Publication.unit_path),
                board_id=col(Publication.unit_id),
            ),
        )
        .order_by(col(Publication.unit_path))
    )
    async for data in stream:
        yield Board.from_json(data)


# --- 汇总公示卡 ---------------------------------------------------------------------------------


def quarter_bounds(key: str) -> tuple[datetime, datetime, str]:
    try:
        quarter = period_from_key(PeriodLength.QUARTER, key)
    except ValueError as exc:
        raise ExportPeriodInvalid(detail={"quarter": key}) from exc
    # The years an export covers, as for 一人一卡 (0000 is no year; 0001 has no UTC start).
    if not EXPORT_YEARS[0] <= quarter.year <= EXPORT_YEARS[1]:
        raise ExportPeriodInvalid(detail={"quarter": key, "years": EXPORT_YEARS})
    return quarter.start, quarter.end, quarter.label


async def quarterly_summary(
    session: AsyncSession, principal: Principal, unit: OrgUnit, quarter_key: str
) -> Export:
    """汇总公示卡: each member's bonus and deduction points per period of the quarter."""
    principal.require(Action.read_results, unit.path)
    start, end, label = quarter_bounds(quarter_key)
    record, _ = await in_force(session, unit, SubjectKind.MEMBER)
    scheme = (await scope_of(session, record)).scheme
    periods = list(
        await session.scalars(
            select(PeriodRecord)
            .where(
                col(PeriodRecord.scheme_id) == record.id,
                col(PeriodRecord.starts_at) >= start,
                col(PeriodRecord.starts_at) < end,
            )
            .order_by(col(PeriodRecord.starts_at))
        )
    )
    plus, minus = _directions(scheme)
    labels = [engine_period(scheme, period).label for period in periods]
    headers = ["支部", "党小组", "姓名"]
    for period_label in labels:
        headers += [f"{period_label}{plus}", f"{period_label}{minus}"]
    headers += [f"季度{plus}", f"季度{minus}", "季度净分" if plus == "加分" else "季度净记分"]
    book = Workbook(write_only=True)
    sheet = Sheet(
        book,
        f"{label}汇总公示卡",
        f"{scheme.name} · {unit.name}",
        headers,
        [16, 14, 10, *([10] * (2 * len(labels) + 3))],
    )
    sums = await _period_sums(session, unit, [id_of(p) for p in periods], scheme)
    units = await _names_of_units(session, unit)
    members = await session.stream(
        sa_select(col(Member.id), col(Member.name), col(Member.unit_id))
        .join(OrgUnit, col(OrgUnit.id) == col(Member.unit_id))
        .where(within(col(OrgUnit.path), [unit.path]))
        .order_by(col(OrgUnit.path), col(Member.id))
    )
    async for found_id, name, unit_id in members:
        member_id: int = found_id or 0
        branch, group = _branch_and_group(units, unit_id)
        values: list[Any] = [branch, group, name]
        total_plus = total_minus = Decimal(0)
        for period in periods:
            up, down = sums.get((member_id, id_of(period)), (Decimal(0), Decimal(0)))
            total_plus, total_minus = total_plus + up, total_minus + down
            values += [up, down]
        net = total_plus - total_minus if plus == "加分" else total_minus - total_plus
        sheet.row([*values, total_plus, total_minus, net])
    sheet.signatures("制表人", "审核人", "日期")
    await _attendance_sheet(session, book, unit, start, end, label)
    return await _save(book, file_name(quarter_key, unit.name, "汇总公示卡.xlsx"))


def _directions(scheme: Scheme) -> tuple[str, str]:
    """Column words for the two directions: 加分/扣分, or 销分/记分 in a demerit scheme."""
    return ("销分", "记分") if scheme.scoring.mode is ScoringMode.DEMERIT else ("加分", "扣分")


async def _period_sums(
    session: AsyncSession, unit: OrgUnit, period_ids: list[int], scheme: Scheme
) -> dict[tuple[int, int], tuple[Decimal, Decimal]]:
    """(member, period) → (bonus points, deduction points), reversals netted."""
    if not period_ids:
        return {}
    rows = await session.execute(
        sa_select(
            col(ScoreEntry.member_id),
            col(ScoreEntry.period_id),
            col(ScoreEntry.item_code),
            func.sum(col(ScoreEntry.points)),
        )
        .join(Member, col(Member.id) == col(ScoreEntry.member_id))
        .join(OrgUnit, col(OrgUnit.id) == col(Member.unit_id))
        .where(col(ScoreEntry.period_id).in_(period_ids), within(col(OrgUnit.path), [unit.path]))
        .group_by(col(ScoreEntry.member_id), col(ScoreEntry.period_id), col(ScoreEntry.item_code))
    )
    kinds = {item.code: item.kind for item in scheme.items}
    sums: dict[tuple[int, int], tuple[Decimal, Decimal]] = {}
    for found_id, period_id, item_code, points in rows:
        member_id: int = found_id or 0
        up, down = sums.get((member_id, period_id), (Decimal(0), Decimal(0)))
        value = plain(Decimal(points))
        if kinds.get(item_code) is ItemKind.BONUS:
            up += value
        elif kinds.get(item_code) is ItemKind.DEDUCTION:
            down += value
        sums[(member_id, period_id)] = (up, down)
    return sums


async def _names_of_units(session: AsyncSession, unit: OrgUnit) -> dict[int, OrgUnit]:
    """The units of the subtree, and the unit's parent (a group's branch)."""
    ids_above = [int(part) for part in unit.path.strip("/").split("/")][-2:]
    units = await session.scalars(
        select(OrgUnit).where(
            within(col(OrgUnit.path), [unit.path]) | col(OrgUnit.id).in_(ids_above)
        )
    )
    return {id_of(u): u for u in units}


def _branch_and_group(units: dict[int, OrgUnit], unit_id: int) -> tuple[str | None, str | None]:
    unit = units.get(unit_id)
    if unit is None:
        return None, None
    if unit.kind == UnitKind.group:
        parent = units.get(unit.parent_id or 0)
        return (parent.name if parent else None), unit.name
    return unit.name, None


# --- 一人一卡 ----------------------------------------------------------------------------------


async def member_card(
    session: AsyncSession, principal: Principal, member_id: int, year: int
) -> Export:
    """一人一卡: the member's year, period by period, every entry with reason and approver."""
    member = await member_for(session, principal, member_id, Action.read_members)
    if not 2000 <= year <= 2100:
        raise ExportPeriodInvalid(detail={"year": year})
    unit = await session.get(OrgUnit, member.unit_id)
    assert unit is not None
    record, _ = await in_force(session, unit, SubjectKind.MEMBER)
    scheme = (await scope_of(session, record)).scheme
    names = {item.code: (item.name, item.kind) for item in scheme.items}
    start = datetime(year, 1, 1, tzinfo=SHANGHAI)
    end = datetime(year + 1, 1, 1, tzinfo=SHANGHAI)
    periods = {
        id_of(p): p
        for p in await session.scalars(
            select(PeriodRecord).where(
                col(PeriodRecord.scheme_id) == record.id,
                col(PeriodRecord.starts_at) >= start,
                col(PeriodRecord.starts_at) < end,
            )
        )
    }
    actors = sa.table("member", sa.column("id"), sa.column("name")).alias("actor")
    entries = await session.execute(
        sa_select(ScoreEntry, actors.c.name)
        .outerjoin(actors, actors.c.id == col(ScoreEntry.actor_id))
        .where(
            col(ScoreEntry.member_id) == member_id,
            col(ScoreEntry.period_id).in_(list(periods)),
        )
        .order_by(col(ScoreEntry.period_id), col(ScoreEntry.occurred_on), col(ScoreEntry.id))
    )
    totals = await _period_totals(session, principal, list(periods.values()), member, unit)
    book = Workbook(write_only=True)
    sheet = Sheet(
        book,
        f"{member.name}一人一卡{year}",
        f"{scheme.name} · {unit.name} · {member.name}",
        ["考核期", "日期", "事项", "方向", "分值", "理由", "来源", "审批/登记人", "登记时间"],
        [14, 12, 24, 8, 8, 36, 10, 12, 18],
    )
    sheet.row(_base_row(scheme), bold=True)
    current: int | None = None
    for entry, actor in entries:
        entry_row: ScoreEntry = entry
        if current is not None and entry_row.period_id != current:
            _subtotal(sheet, periods[current], scheme, totals)
        current = entry_row.period_id
        name, kind = names.get(entry_row.item_code, (entry_row.item_code, None))
        sheet.row(
            [
                engine_period(scheme, periods[current]).label,
                entry_row.occurred_on.isoformat(),
                name,
                _direction(scheme, kind, entry_row.reverses_id is not None),
                plain(entry_row.points),
                entry_row.reason,
                SOURCES.get(EntrySource(entry_row.source), entry_row.source),
                actor,
                entry_row.created_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M"),
            ]
        )
    if current is not None:
        _subtotal(sheet, periods[current], scheme, totals)
    sheet.signatures("党员本人签字", "支部书记签字", "日期")
    return await _save(book, file_name(str(year), member.name, "一人一卡.xlsx"))


def _base_row(scheme: Scheme) -> list[Any]:
    """Where the card's points start from, so each subtotal can be checked by hand."""
    if scheme.scoring.mode is ScoringMode.DEMERIT:
        start = (
            "记分从 0 起，年内累计"
            if scheme.accumulation is Accumulation.CARRY_OVER
            else "每期记分从 0 起"
        )
    elif scheme.accumulation is Accumulation.CARRY_OVER:
        start = "年初起始分，年内累计"
    else:
        start = "每期起始分"
    return ["基础分", None, start, None, plain(scheme.scoring.base)]


def _direction(scheme: Scheme, kind: ItemKind | None, reversal: bool) -> str:
    plus, minus = _directions(scheme)
    word = {ItemKind.BONUS: plus, ItemKind.DEDUCTION: minus, ItemKind.VETO: "一票否决"}.get(
        kind or ItemKind.BONUS, ""
    )
    return f"撤销{word}" if reversal else word


async def _period_totals(
    session: AsyncSession,
    principal: Principal,
    periods: list[PeriodRecord],
    member: Member,
    unit: OrgUnit,
) -> dict[int, tuple[Decimal | None, str | None]]:
    """The member's total and tier of each closed period whose results the reader sees."""
    seen = [
        p
        for p in periods
        if p.status != PeriodStatus.open
        and results_visible(principal, PeriodStatus(p.status), unit.path, subject_id=id_of(member))
        is not Sight.NONE
    ]
    found = await member_results(session, seen, id_of(member))
    return {
        period_id: (row.total, row.result.tier_label or row.result.tier)
        for period_id, row in found.items()
    }


def _subtotal(
    sheet: Sheet,
    period: PeriodRecord,
    scheme: Scheme,
    totals: dict[int, tuple[Decimal | None, str | None]],
) -> None:
    total, tier = totals.get(id_of(period), (None, None))
    label = engine_period(scheme, period).label
    status = "进行中" if period.status == PeriodStatus.open else f"档次：{tier or '—'}"
    total_value = plain(total) if total is not None else None
    sheet.row([f"{label}合计", None, status, None, total_value], bold=True)


# --- 考核表 (branch assessment) ------------------------------------------------------------------


async def assessment(
    session: AsyncSession, principal: Principal, period: PeriodRecord, scope: Scope
) -> Export:
    """A branch scheme's results: each item's score, total, tier, money and actions."""
    if period.status == PeriodStatus.open:
        raise PeriodNotClosed()
    if results_visible(principal, PeriodStatus(period.status), scope.owner.path) is Sight.NONE:
        raise ResultsNotPublished()
    scheme = scope.scheme
    if scheme.subject_kind is not SubjectKind.BRANCH:
        raise SubjectKindMismatch()
    items = [item for item in scheme.items if item.kind is not ItemKind.VETO]
    groups = list(scheme.groups)
    outcomes = assessment_outcomes(scheme)
    book = Workbook(write_only=True)
    label = engine_period(scheme, period).label
    sheet = Sheet(
        book,
        f"{label}支部考核表",
        f"{scheme.name} · {scope.owner.name}",
        ["支部", *(g.name for g in groups), *(i.name for i in items), "总分", "档次"]
        + [header for header, _, _ in outcomes],
        [18, *([10] * (len(groups) + len(items))), 8, 10, *(width for _, width, _ in outcomes)],
    )
    for name, result in await assessed_branches(session, period):
        sheet.row(
            [
                name,
                *(_number(result.group_totals.get(g.code)) for g in groups),
                *(_number(result.item_totals.get(i.code)) for i in items),
                _number(result.total),
                result.tier_label or result.tier,
                *(value(result) for _, _, value in outcomes),
            ]
        )
    sheet.signatures("制表人", "审核人", "日期")
    return await _save(book, file_name(period.key, scope.owner.name, "支部考核表.xlsx"))


def assessment_outcomes(
    scheme: Scheme,
) -> list[tuple[str, int, Callable[[SubjectResult], Any]]]:
    """The 考核表's outcome columns the scheme can fill: money, coefficient, veto, actions."""
    tiers = scheme.tiering.tiers if scheme.tiering else ()
    acts = bool(scheme.thresholds or scheme.streaks or scheme.items_with_actions)
    wanted: list[tuple[bool, tuple[str, int, Callable[[SubjectResult], Any]]]] = [
        (
            any(tier.money is not None for tier in tiers),
            ("奖励/报酬（元）", 12, lambda result: _number(result.money)),
        ),
        (
            any(tier.coefficient is not None for tier in tiers),
            ("系数", 8, lambda result: _number(result.coefficient)),
        ),
        (
            any(item.kind is ItemKind.VETO for item in scheme.items),
            ("否决", 8, lambda result: "是" if result.vetoed else None),
        ),
        (
            acts,
            ("处理", 24, lambda r: "、".join(action.label for action in r.actions) or None),
        ),
    ]
    return [column for used, column in wanted if used]


def _number(value: Decimal | None) -> Decimal | None:
    return plain(value) if value is not None else None


# --- 组织生活出勤表 ----------------------------------------------------------------------------

_OUTCOMES = {"present": "出席", "leave": "请假", "absent": "缺席"}
_CHECKINS = {"scan": "扫码签到", "manual": "手工登记"}


async def attendance(
    session: AsyncSession, principal: Principal, unit: OrgUnit, period: Period
) -> Export:
    """A period's attendance inside the unit: per member, then every meeting's outcomes."""
    principal.require(Action.read_results, unit.path)
    book = Workbook(write_only=True)
    await _attendance_sheet(session, book, unit, period.start, period.end, period.label)
    units = await _names_of_units(session, unit)
    sheet = Sheet(
        book,
        f"{period.label}会议出勤明细",
        unit.name,
        ["日期", "会议类型", "会议", "支部", "党小组", "姓名", "出勤", "签到方式"],
        [12, 12, 24, 16, 14, 10, 8, 10],
    )
    for meeting, name, unit_id, outcome, checkin in await meetings.meeting_lines(
        session, unit, period.start, period.end
    ):
        branch, group = _branch_and_group(units, unit_id)
        sheet.row(
            [
                meeting.held_on.isoformat(),
                meeting.kind_name,
                meeting.title,
                branch,
                group,
                name,
                _OUTCOMES.get(outcome, outcome),
                _CHECKINS.get(checkin or ""),
            ]
        )
    return await _save(book, file_name(period.key, unit.name, "组织生活出勤表.xlsx"))


async def _attendance_sheet(
    session: AsyncSession,
    book: Workbook,
    unit: OrgUnit,
    start: datetime,
    end: datetime,
    label: str,
) -> None:
    """Each member's decided attendance in [start, end), with each branch's totals after its
    members."""
    units = await _names_of_units(session, unit)
    sheet = Sheet(
        book,
        f"{label}组织生活出勤",
        f"{unit.name} · 出勤率 = 出席 ÷ 应到",
        ["支部", "党小组", "姓名", "应到", "出席", "请假", "缺席", "出勤率"],
        [16, 14, 10, 8, 8, 8, 8, 10],
    )
    totals: dict[str | None, list[int]] = {}
    current: str | None = None
    for line in await meetings.lines(session, unit, start, end):
        branch, group = _branch_and_group(units, line.unit_id)
        if current is not None and branch != current:
            _attendance_total(sheet, current, totals[current])
        current = branch
        counts = [line.present, line.leave, line.absent]
        branch_total = totals.setdefault(branch, [0, 0, 0])
        totals[branch] = [a + b for a, b in zip(branch_total, counts, strict=True)]
        sheet.row([branch, group, line.name, sum(counts), *counts, _rate(counts)])
    if current is not None:
        _attendance_total(sheet, current, totals[current])


def _attendance_total(sheet: Sheet, branch: str | None, counts: list[int]) -> None:
    sheet.row([f"{branch or ''}合计", None, None, sum(counts), *counts, _rate(counts)], bold=True)


def _rate(counts: list[int]) -> str | None:
    """Present over expected, as the percentage a reader expects to see."""
    expected = sum(counts)
    return f"{100 * counts[0] / expected:.1f}%" if expected else None
