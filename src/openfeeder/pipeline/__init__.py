"""The tracking pipeline: turns raw tracker hits into visits, as a list of named steps
(``pipeline.steps``) run by a loop that claims one shard's batch at a time
(``pipeline.runner``), with upkeep of raw hits, sessions and salts (``pipeline.janitor``)."""

from openfeeder.domain.drops import DropReason
from openfeeder.pipeline.model import Identification, Identifier
from openfeeder.pipeline.runner import Pipeline, make_pipeline, truncate_ip
from openfeeder.pipeline.steps import STEPS

__all__ = [
    "STEPS",
    "DropReason",
    "Identification",
    "Identifier",
    "Pipeline",
    "make_pipeline",
    "truncate_ip",
]
