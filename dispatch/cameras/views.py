from __future__ import annotations

from fastapi import APIRouter, Depends

from dispatch.auth.deps import CurrentUser, DbSession, StationScope, get_context, require_roles
from dispatch.cameras import service
from dispatch.cameras.schemas import CameraRead
from dispatch.context import AppContext

router = APIRouter(prefix="/cameras", tags=["cameras"])


@router.get("", response_model=list[CameraRead])
def list_cameras(db: DbSession, scope: StationScope, ctx: AppContext = Depends(get_context),
                 _: CurrentUser = Depends(require_roles("supervisor", "sho"))
                 ) -> list[CameraRead]:
    """Traffic cameras with the road edges they watch, their latest congestion reading and
    its age; `fresh: false` means the camera went silent and routing ignores it. An SHO sees
    the cameras in their own station's area."""
    return service.list_cameras(db, ctx=ctx, station_scope=scope)
