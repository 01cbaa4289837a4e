"""The declarative base every table is defined on. Its own module, so table modules import it without cycles;
`storage.schema` imports every table module to make the metadata complete."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass
