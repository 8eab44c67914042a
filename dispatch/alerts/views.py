from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query

from dispatch.alerts import service
from dispatch.alerts.schemas import AlertDeliveryRead, AlertRead
from dispatch.auth.deps import CurrentUser, DbSession, require_roles
from dispatch.ids import Id

router = APIRouter(prefix="/alerts", tags=["alerts"])


@router.get("", response_model=list[AlertRead])
def list_alerts(db: DbSession, state: Literal["open", "acknowledged", "resolved"] | None = None,
                limit: int = Query(200, ge=1, le=1000),
                _: CurrentUser = Depends(require_roles("supervisor"))) -> list[AlertRead]:
    return [AlertRead.model_validate(a) for a in service.list_alerts(db, state=state,
                                                                     limit=limit)]


@router.get("/{alert_id}/deliveries", response_model=list[AlertDeliveryRead])
def deliveries(alert_id: Id, db: DbSession,
               _: CurrentUser = Depends(require_roles("supervisor"))) -> list[AlertDeliveryRead]:
    """Outbound notifications of this alert (webhook / SMS gateway) and how each went."""
    return [AlertDeliveryRead.model_validate(d)
            for d in service.list_deliveries(db, alert_id=alert_id)]


@router.post("/{alert_id}/ack", response_model=AlertRead)
def acknowledge(alert_id: Id, db: DbSession,
                user: CurrentUser = Depends(require_roles("supervisor"))) -> AlertRead:
    return AlertRead.model_validate(service.acknowledge(db, alert_id=alert_id,
                                                        actor=user.username))
