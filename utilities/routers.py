"""Database routing for a read replica (issue #11).

Only statistics and dashboards read from the replica, and they ask for it by name
(``.using(stats.dataset.stats_database())``): a replica lags behind, and a case officer who has just saved a
record must see it at once. So this router sends every unnamed read and every write to ``default``, never
writes or migrates the replica (it is a copy that PostgreSQL keeps in step), and lets objects read from either
alias relate to one another, since both hold the same rows.
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS

REPLICA_ALIAS = "replica"
_SAME_DATA = {DEFAULT_DB_ALIAS, REPLICA_ALIAS}


class ReplicaRouter:
    def db_for_read(self, model, **hints) -> str:
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool | None:
        if obj1._state.db in _SAME_DATA and obj2._state.db in _SAME_DATA:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints) -> bool | None:
        if db == REPLICA_ALIAS:
            return False
        return None
