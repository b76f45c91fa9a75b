"""`/api/devices`: provisioning of the devices that publish over MQTT, and ingestion counters.

Writes need `write_data` in the device's commune (an API key or a signed-in agent of that
commune); a browser session sends its CSRF token in `X-CSRF-Token`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from hakama.core.access import Action, allowed
from hakama.http.deps import ActorDep, PlatformDep, require_csrf
from hakama.ingest.formats import ATTRIBUTE_NAME
from hakama.services import devices, observations
from hakama.services.access import require
from hakama.services.devices import DEVICE_ID, ENTITY_ID, ENTITY_TYPE, UNIT_CODE, Device
from hakama.services.territory import area_chain

router = APIRouter(prefix="/api/devices", tags=["devices"], dependencies=[Depends(require_csrf)])


class AttributeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(
        None,
        max_length=128,
        pattern=f"^{ATTRIBUTE_NAME.pattern}$",
        description="NGSI-LD attribute; default the measure name.",
    )
    unit: str | None = Field(
        None,
        max_length=8,
        pattern=f"^{UNIT_CODE.pattern}$",
        description="UN/CEFACT common code, e.g. GQ (µg/m³).",
    )


MeasureName = Annotated[str, StringConstraints(pattern=f"^{ATTRIBUTE_NAME.pattern}$")]
#: The measure names as clients generated from the document understand them.
_MEASURES: dict[str, Any] = {
    "patternProperties": {
        f"^{ATTRIBUTE_NAME.pattern}$": {"$ref": "#/components/schemas/AttributeSpec"}
    },
    "additionalProperties": False,
}


class Point(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field("Point", pattern="^Point$")
    coordinates: list[Annotated[float, Field(ge=-180, le=180)]] = Field(
        min_length=2,
        max_length=2,
        description="[longitude, latitude]",
        json_schema_extra={
            "prefixItems": [
                {"type": "number", "minimum": -180, "maximum": 180},
                {"type": "number", "minimum": -90, "maximum": 90},
            ]
        },
    )


class DeviceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    device_id: str = Field(
        min_length=1, max_length=128, pattern=f"^{DEVICE_ID.pattern}$", examples=["aq-berkane-01"]
    )
    entity_type: str = Field(
        min_length=1,
        max_length=256,
        pattern=f"^{ENTITY_TYPE.pattern}$",
        examples=["AirQualityObserved"],
    )
    entity_id: str | None = Field(
        None,
        max_length=512,
        pattern=f"^{ENTITY_ID.pattern}$",
        description="Default urn:ngsi-ld:<type>:<device_id>.",
    )
    api_key_id: str | None = Field(
        None, max_length=16, description="Public id of the key the device publishes with."
    )
    attributes: dict[MeasureName, AttributeSpec] = Field(
        default_factory=dict, description="Measure name → attribute and unit.", json_schema_extra=_MEASURES
    )
    location: Point | None = None
    area_code: str | None = Field(
        None, max_length=64, description="Commune, when there is no location."
    )
    description: str = Field("", max_length=2000)


class DevicePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_key_id: str | None = Field(None, max_length=16)
    attributes: dict[MeasureName, AttributeSpec] | None = Field(None, json_schema_extra=_MEASURES)
    location: Point | None = None
    area_code: str | None = Field(None, max_length=64)
    description: str | None = Field(None, max_length=2000)
    disabled: bool | None = None


class DeviceOut(BaseModel):
    device_id: str
    api_key_id: str | None
    entity_id: str
    entity_type: str
    area_code: str | None
    attributes: dict[str, dict[str, str | None]]
    location: dict[str, Any] | None
    description: str
    disabled: bool
    topic: str
    created_at: datetime
    updated_at: datetime
    last_seen_at: datetime | None

    @classmethod
    def of(cls, device: Device) -> DeviceOut:
        body = device.public()
        body.update(
            created_at=device.created_at,
            updated_at=device.updated_at,
            last_seen_at=device.last_seen_at,
        )
        return cls(topic=device.topic, **body)


def _attributes(specs: dict[str, AttributeSpec]) -> dict[str, Any]:
    return {k: s.model_dump(exclude_none=True) for k, s in specs.items()}


@router.get("", operation_id="devices_list")
def list_devices(
    platform: PlatformDep,
    actor: ActorDep,
    area: Annotated[
        str | None, Query(max_length=64, description="Only devices of this commune")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[DeviceOut]:
    """The devices the caller may see, by id."""
    found = devices.list_devices(platform, actor=actor, area_code=area, limit=limit, offset=offset)
    return [DeviceOut.of(d) for d in found]


@router.post("", status_code=201, operation_id="devices_create")
def create_device(body: DeviceIn, platform: PlatformDep, actor: ActorDep) -> DeviceOut:
    """Provision a device; its entity is created (placed in its commune) if it does not exist."""
    device = devices.create_device(
        platform,
        actor=actor,
        device_id=body.device_id,
        entity_type=body.entity_type,
        entity_id=body.entity_id,
        api_key_id=body.api_key_id,
        attributes=_attributes(body.attributes),
        location=body.location.model_dump() if body.location else None,
        area_code=body.area_code,
        description=body.description,
    )
    devices.provision_entity(platform, device, actor=actor)
    return DeviceOut.of(device)


@router.get("/_ingest", operation_id="devices_ingest_stats")
def ingest_stats(platform: PlatformDep, actor: ActorDep) -> dict[str, Any]:
    """Counters of the MQTT subscriber of this process, the broker's own loss figures and the
    observation staging area."""
    require(platform, actor, Action.READ_INTERNAL, None)
    stats = platform.ops.mqtt
    staging = observations.staging_stats(platform)
    return {
        "mqtt": stats.public() if stats is not None else None,
        # what the broker itself lost (its $SYS figures): hakama's counters cannot see it
        "broker": platform.ops.broker.public() if platform.settings.mqtt_url else None,
        "staging": {
            "pending": staging.pending,
            "claimed": staging.claimed,
            "flushed_kept": staging.flushed_kept,
            "oldest_pending_seconds": staging.oldest_pending_seconds,
        },
    }


@router.get("/{device_id}", operation_id="devices_get")
def get_device(device_id: str, platform: PlatformDep, actor: ActorDep) -> DeviceOut:
    """One device (visible to those who read internal data or write data in its commune)."""
    device = devices.get_device(platform, device_id)
    chain = area_chain(platform, device.area_code)
    if not allowed(actor, Action.WRITE_DATA, chain):
        require(platform, actor, Action.READ_INTERNAL, device.area_code)
    return DeviceOut.of(device)


@router.patch("/{device_id}", operation_id="devices_update")
def update_device(
    device_id: str, body: DevicePatch, platform: PlatformDep, actor: ActorDep
) -> DeviceOut:
    """Change a device's key, mapping, place, description or disabled flag."""
    changes = body.model_dump(exclude_unset=True)
    if "attributes" in changes and body.attributes is not None:
        changes["attributes"] = _attributes(body.attributes)
    return DeviceOut.of(devices.update_device(platform, device_id, actor=actor, changes=changes))


@router.delete("/{device_id}", status_code=204, operation_id="devices_delete")
def delete_device(device_id: str, platform: PlatformDep, actor: ActorDep) -> Response:
    """Remove a device; its entity and its history stay."""
    devices.delete_device(platform, device_id, actor=actor)
    return Response(status_code=204)
