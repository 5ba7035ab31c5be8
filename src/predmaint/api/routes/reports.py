"""``GET /reports/{date}`` and ``/reports/latest``: the day's monitoring page, as written.

The page is one self-contained HTML file (:mod:`predmaint.monitoring.page`); the API serves the
file monitoring published, it never renders one on a request.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import FileResponse

from predmaint.api.deps import SettingsDep
from predmaint.api.schemas import Problem
from predmaint.monitoring.page import PAGE_FILE, page_path
from predmaint.storage import partition_date

router = APIRouter(tags=["reports"])
_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {"text/html": {}}, "description": "The day's page."},
    404: {"model": Problem, "description": "No page for that day."},
}


@router.get(
    "/reports/latest",
    response_class=FileResponse,
    summary="The newest daily monitoring page",
    responses=_RESPONSES,
)
async def latest_report(settings: SettingsDep) -> FileResponse:
    root = settings.reports_dir
    days = (
        sorted(
            (
                day
                for p in root.iterdir()
                if (day := partition_date(p)) and (p / PAGE_FILE).is_file()
            ),
            reverse=True,
        )
        if root.is_dir()
        else []
    )
    if not days:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, "no report page yet: run `predmaint monitor` first"
        )
    return FileResponse(page_path(settings, days[0]), media_type="text/html")


@router.get(
    "/reports/{day}",
    response_class=FileResponse,
    summary="The monitoring page of one day (YYYY-MM-DD)",
    responses=_RESPONSES,
)
async def day_report(day: date, settings: SettingsDep) -> FileResponse:
    path = page_path(settings, day)
    if not path.is_file():
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"no report page for {day}: run `predmaint monitor --date {day}`",
        )
    return FileResponse(path, media_type="text/html")
