"""The roster template a secretary fills in, or prints and hands round: the roster sheet first
(the import reads the first sheet), with drop-down lists where the import accepts only certain
words, and a sheet of instructions after it."""

from collections.abc import Sequence
from io import BytesIO
from typing import Final

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from api.services.roster.sheet import COLUMNS, MAX_ROWS, REQUIRED_COLUMNS

FILE_NAME: Final = "花名册模板.xlsx"
ROSTER_SHEET: Final = "花名册"
GUIDE_SHEET: Final = "填写说明"
# The words the import reads in these columns: each list's first words are what it shows.
POLITICAL_CHOICES: Final = ("正式党员", "预备党员", "入党积极分子")
DUTY_CHOICES: Final = ("无", "支部书记", "支部委员", "党小组长")
# Ruled rows for a printed blank form; the lists reach every row the import accepts.
PRINTED_ROWS: Final = 30
_WIDTHS: Final = {"姓名": 12, "手机号": 16, "支部": 22, "党小组": 22, "政治面貌": 14, "类别": 8}
_THIN: Final = Side(style="thin", color="000000")
_BOX: Final = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_EXAMPLE: Final = ("张三", "13800000000", "第一党支部", "第一党小组", "正式党员", "B", "党小组长")


def template_workbook(categories: Sequence[str] = ()) -> bytes:
    """The template; `categories` are those of the scheme in force (no list when it has none)."""
    book = Workbook()
    roster = book.active
    assert roster is not None
    _roster_sheet(roster, categories)
    _guide_sheet(book.create_sheet(GUIDE_SHEET), categories)
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _roster_sheet(sheet: Worksheet, categories: Sequence[str]) -> None:
    sheet.title = ROSTER_SHEET
    sheet.append(list(COLUMNS))
    for index, name in enumerate(COLUMNS, start=1):
        header = sheet.cell(row=1, column=index)
        required = name in REQUIRED_COLUMNS
        header.font = Font(bold=True, color="C0392B" if required else "000000")
        header.fill = PatternFill("solid", fgColor="F2F2F2")
        header.alignment = Alignment(horizontal="center", vertical="center")
        sheet.column_dimensions[get_column_letter(index)].width = _WIDTHS.get(name, 18)
    for row in sheet.iter_rows(min_row=1, max_row=PRINTED_ROWS + 1, max_col=len(COLUMNS)):
        for cell in row:
            cell.border = _BOX
    # Phones typed as text: as a number Excel would show one in scientific notation.
    sheet.column_dimensions[get_column_letter(COLUMNS.index("手机号") + 1)].number_format = "@"
    _choices(sheet, "政治面貌", POLITICAL_CHOICES, strict=True, prompt="请从下拉列表中选择")
    _choices(sheet, "职务", DUTY_CHOICES, strict=False, prompt="可填多个，用顿号分隔")
    if categories:
        _choices(sheet, "类别", categories, strict=True, prompt="本组织积分方案中的类别")
    sheet.freeze_panes = "A2"
    sheet.print_title_rows = "1:1"
    sheet.page_setup.orientation = sheet.ORIENTATION_LANDSCAPE
    sheet.print_options.horizontalCentered = True
    _fit_a4_width(sheet)


def _choices(
    sheet: Worksheet, column: str, choices: Sequence[str], *, strict: bool, prompt: str
) -> None:
    """A drop-down list on the column's data rows. A strict list refuses other words; a
    lenient one warns (several duties in one cell are not one of the list's words)."""
    letter = get_column_letter(COLUMNS.index(column) + 1)
    validation = DataValidation(
        type="list",
        formula1='"' + ",".join(choices) + '"',
        allow_blank=True,
        showDropDown=False,  # openpyxl's name for hiding the in-cell arrow
        showErrorMessage=True,
        showInputMessage=True,
        errorStyle="stop" if strict else "warning",
        errorTitle=column,
        error=f"{column}应为：{'、'.join(choices)}",
        promptTitle=column,
        prompt=prompt,
    )
    validation.add(f"{letter}2:{letter}{MAX_ROWS + 1}")
    sheet.add_data_validation(validation)


def _guide_sheet(sheet: Worksheet, categories: Sequence[str]) -> None:
    category_note = (
        f"可选。本组织积分方案中的类别：{'、'.join(categories)}（下拉选择）。"
        if categories
        else "可选。积分方案按类别计分时填写，如 A、B、C、D。"
    )
    lines: list[tuple[str, str]] = [
        ("花名册填写说明", ""),
        ("", ""),
        ("列", "填写要求"),
        ("姓名", "必填，不超过 50 个字。"),
        ("手机号", "必填，11 位大陆手机号。按手机号匹配已有党员：同一手机号姓名不同视为改名。"),
        ("支部", "必填，与系统中支部名称一致（如“东村党支部”）。"),
        ("党小组", "可空（直接属于支部）。系统中还没有的党小组会在导入时新建，须确认。"),
        ("政治面貌", "必填：正式党员、预备党员 或 入党积极分子（下拉选择）。"),
        ("类别", category_note),
        (
            "职务",
            "可选：支部书记、支部委员、党小组长，多个用顿号分隔；“无”或留空表示不担任职务，"
            "会免去其现有职务。不想改动职务时，请删除整个“职务”列。",
        ),
        ("", ""),
        ("导入步骤", "1. 在“花名册”工作表填写，每人一行，红色列名为必填列；不要改动列名。"),
        ("", "2. 在控制台“花名册导入”上传，先看预览：新增、改名、调整组织、职务任免、新建党小组。"),
        ("", "3. 核对无误后确认导入。表中没有的党员不会被删除，只在预览中列出。"),
        ("", f"最多 {MAX_ROWS} 行。"),
        ("", ""),
        ("填写示例", "、".join(_EXAMPLE)),
    ]
    for line in lines:
        sheet.append(list(line))
    sheet["A1"].font = Font(bold=True, size=14)
    for cell in sheet[3]:
        cell.font = Font(bold=True)
    sheet.column_dimensions["A"].width = 12
    sheet.column_dimensions["B"].width = 90
    for row in sheet.iter_rows(min_row=4):
        row[1].alignment = Alignment(wrap_text=True, vertical="top")
    _fit_a4_width(sheet)


def _fit_a4_width(sheet: Worksheet) -> None:
    """Printed on A4, every column on the page, as many pages down as the rows need."""
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
