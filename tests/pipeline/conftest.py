"""What the pipeline's tests share: the small world (an account, two companies, a table
identifier and an ingestor) of ``tests/support/pipeline.py`` on the test's store."""

from __future__ import annotations

import pytest

from openfeeder.config import Settings
from openfeeder.store.db import Database
from tests.support.factories import Builder
from tests.support.pipeline import World, make_world


@pytest.fixture
def world(settings: Settings, db: Database, builder: Builder) -> World:
    return make_world(settings, db, builder)
