"""Dependency aliases that keep routers to a few lines each."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from hakama.core.access import Actor
from hakama.services.platform import Platform
from hakama.settings import Settings


def get_platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.platform.settings
    return settings


def get_actor(request: Request) -> Actor:
    """The actor behind the request: an API key, a session user, or the anonymous public."""
    from hakama.http.auth import resolve_actor

    return resolve_actor(request)


PlatformDep = Annotated[Platform, Depends(get_platform)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ActorDep = Annotated[Actor, Depends(get_actor)]
