"""Task bodies of ``edgesense_setup``: the Glue catalog and the sample rules (both safe to repeat)."""

from __future__ import annotations

import logging

from edgesense.aws.clients import AwsClients
from edgesense.aws.rules_store import RulesStore
from edgesense.config import Settings
from edgesense.tasks.common import catalog, clients_for

log = logging.getLogger(__name__)


def ensure_catalog(settings: Settings, *, clients: AwsClients | None = None) -> list[str]:
    """Create or update the Glue database and tables."""
    done = catalog(settings, clients_for(settings, clients)).ensure()
    for line in done:
        log.info("%s", line)
    return done


def seed_rules(settings: Settings, *, clients: AwsClients | None = None) -> int:
    """Seed the original's sample rules, only into an empty table."""
    seeded = RulesStore(clients_for(settings, clients).dynamodb, settings.rules_table).seed_samples()
    log.info("seeded %d sample rule(s)" if seeded else "rules table %s is not empty; nothing seeded",
             seeded or settings.rules_table)  # fmt: skip
    return seeded
