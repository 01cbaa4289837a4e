"""Every table, registered on one metadata: what Alembic compares migrations against."""

from __future__ import annotations

from sqlalchemy import MetaData

from storage import (
                 delivery_models,
                 destination_models,
                 event_store,
                 feedback_models,
                 followup_models,
                 models,
                 personal_models,
                 semantic_cache_store,
                 subscription_models,
                 summary_models,
)
from storage.base import Base

TABLE_MODULES = (models, delivery_models, destination_models, event_store, feedback_models, followup_models,
                 personal_models, semantic_cache_store, subscription_models, summary_models)
metadata: MetaData = Base.metadata
