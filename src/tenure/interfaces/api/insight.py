"""Programme KPIs, customer insight and account-manager appraisal in the JSON API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from tenure.domain.model import MONTH_PATTERN
from tenure.interfaces.api.deps import CurrentUser, ServicesDep
from tenure.services.insight import insight_service, read_report, workbook

router = APIRouter(prefix="/api/v1/insight", tags=["insight"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Month = Annotated[str, Query(pattern=MONTH_PATTERN)]
Filter = Annotated[str | None, Query(max_length=64)]



@router.get("/{kind}")
def report(kind: str, user: CurrentUser, services: ServicesDep, month: Month, region: Filter = None,
           segment: Filter = None) -> dict:
    """The report ``kind`` (kpis, revenue, bundling, agreements, quality, arrears, lockin, appraisal,
    service) for ``month``, optionally limited to a region and a segment."""
    return read_report(insight_service(services), user, kind, month, region, segment)


@router.get("/{kind}/xlsx")
def report_xlsx(kind: str, user: CurrentUser, services: ServicesDep, month: Month, region: Filter = None,
                segment: Filter = None) -> Response:
    """The same report as an Excel workbook: one sheet per table."""
    doc = read_report(insight_service(services), user, kind, month, region, segment)
    return Response(workbook(doc), media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="insight-{kind}-{month}.xlsx"'})
