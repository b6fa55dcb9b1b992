"""Open the configured store: the SQLite file (one box) or PostgreSQL (several daemons)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.store.db import Store, StoreError

if TYPE_CHECKING:
    from assistant.config import Config


def open_store(cfg: Config, readonly: bool = False, owner: str | None = None) -> Store:
    """`[storage] url = "postgresql://..."` gives the shared store, anything else the file."""
    url = cfg.storage_url
    if not url:
        return Store(cfg.db_path, readonly=readonly)
    try:
        from assistant.store.pg import PgStore, password_for
    except ImportError as exc:
        raise StoreError(f"[storage] url is PostgreSQL but psycopg is not installed ({exc}); "
                         "install the assistant with its 'postgres' extra") from exc
    try:
        password = password_for(cfg.storage.password_env, cfg.storage.password_file
                                 and str(cfg.resolve_path(cfg.storage.password_file)))
    except OSError as exc:
        raise StoreError(f"[storage] password_file: cannot read it: {exc.strerror or exc}") from exc
    return PgStore(url, password=password, readonly=readonly, owner=owner)
