"""The roster template: the roster sheet first with drop-down lists where the import accepts only
certain words, instructions after it, ready to print on A4, under a Chinese file name."""

from io import BytesIO
from urllib.parse import quote

import httpx
from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from api.services.roster.sheet import MAX_ROWS
from tests.conftest import Org
from tests.test_roster import HEADER, preview
from tests.workflow import attach

TEMPLATE = "/api/v1/roster/template"


async def template(
    client: httpx.AsyncClient, org: Org, who: str = "admin", **params: int
) -> tuple[httpx.Response, Workbook]:
    response = await client.get(TEMPLATE, params=params, headers=org.headers(who))
    assert response.status_code == 200, response.text
    return response, load_workbook(BytesIO(response.content))


def lists(sheet: Worksheet) -> dict[str, tuple[str, str, str]]:
    """Each validated column's header → (its choices, its error style, the cells it covers)."""
    found = {}
    for validation in sheet.data_validations.dataValidation:
        assert validation.type == "list"
        column = str(validation.sqref).split(":")[0].rstrip("0123456789")
        header = sheet[f"{column}1"].value
        found[str(header)] = (
            str(validation.formula1).strip('"'),
            str(validation.errorStyle),
            str(validation.sqref),
        )
    return found


async def test_template_lists_the_words_the_import_accepts(
    client: httpx.AsyncClient, org: Org
) -> None:
    await attach(client, org, "lutou")
    response, book = await template(client, org, unit_id=org.unit_id("branch_a"))
    assert book.sheetnames == ["花名册", "填写说明"]
    sheet = book.worksheets[0]
    assert [cell.value for cell in sheet[1]] == HEADER
    found = lists(sheet)
    last = MAX_ROWS + 1
    assert found["政治面貌"] == ("正式党员,预备党员,入党积极分子", "stop", f"E2:E{last}")
    assert found["类别"] == ("A,B,C,D", "stop", f"F2:F{last}")
    # Several duties in one cell are allowed: the list only warns.
    assert found["职务"] == ("无,支部书记,支部委员,党小组长", "warning", f"G2:G{last}")
    disposition = response.headers["content-disposition"]
    assert disposition.endswith(f"filename*=UTF-8''{quote('花名册模板.xlsx')}")
    assert 'filename="roster-template.xlsx"' in disposition


async def test_template_prints_on_a4_with_its_header_on_every_page(
    client: httpx.AsyncClient, org: Org
) -> None:
    _, book = await template(client, org)
    sheet = book.worksheets[0]
    assert str(sheet.page_setup.paperSize) == sheet.PAPERSIZE_A4
    assert sheet.page_setup.fitToWidth == 1
    assert sheet.sheet_properties.pageSetUpPr is not None
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_title_rows == "$1:$1"
    assert sheet.freeze_panes == "A2"
    guide = book["填写说明"]
    text = "\n".join(str(cell.value) for row in guide.iter_rows() for cell in row if cell.value)
    for column in HEADER:
        assert column in text
    assert "表中没有的党员不会被删除" in text


async def test_without_a_scheme_the_category_is_free_text(
    client: httpx.AsyncClient, org: Org
) -> None:
    _, book = await template(client, org, who="secretary_a")
    assert set(lists(book.worksheets[0])) == {"政治面貌", "职务"}


async def test_a_filled_in_template_previews_without_errors(
    client: httpx.AsyncClient, org: Org
) -> None:
    _, book = await template(client, org)
    sheet = book.worksheets[0]
    sheet.append(["赵一", "13600000001", "甲村党支部", "甲村第一党小组", "正式党员", "", "无"])
    buffer = BytesIO()
    book.save(buffer)
    response = await preview(client, org, buffer.getvalue())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["errors"] == []
    assert [member["name"] for member in body["created"]] == ["赵一"]


async def test_the_template_of_a_unit_out_of_sight_is_not_found(
    client: httpx.AsyncClient, org: Org
) -> None:
    response = await client.get(
        TEMPLATE, params={"unit_id": org.unit_id("branch_b")}, headers=org.headers("secretary_a")
    )
    assert response.status_code == 404
