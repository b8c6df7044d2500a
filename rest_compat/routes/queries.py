"""Query-string models shared by several paths."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from resolvers.common.bodies import Code


class Query(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class PlantFilter(Query):
    plantcode: Code | None = None


class StationFilter(Query):
    plantcode: Code | None = None
    stationcodes: Annotated[list[Code], Field(max_length=500)] = []
