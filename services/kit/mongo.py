"""MongoDB for nameko services: one client per container, transactions checked at start."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from nameko.extensions import DependencyProvider
from pymongo import MongoClient
from pymongo.client_session import ClientSession
from pymongo.database import Database
from pymongo.errors import OperationFailure, PyMongoError

from services.kit import settings

log = logging.getLogger(__name__)
T = TypeVar("T")


class TransactionsUnavailable(RuntimeError):
    """The server cannot run multi-document transactions (a standalone mongod, say)."""


_clients: dict[str, MongoClient] = {}
_clients_lock = threading.Lock()  # nameko sets extensions up concurrently


def connect(url: str | None = None) -> MongoClient:
    """One client per server URL and process, shared by storage and outbox alike: a
    transaction's session only works with the client that started it."""
    url = url or settings.mongo_url()
    with _clients_lock:
        if url not in _clients:
            _clients[url] = _new_client(url)
        return _clients[url]


def _new_client(url: str) -> MongoClient:
    return MongoClient(
        url,
        tz_aware=True,
        serverSelectionTimeoutMS=5000,
        connectTimeoutMS=5000,
        appname="lianxin",
    )


def check_transactions(client: MongoClient, db: Database) -> None:
    """Refuse to run where the outbox and the ledger could not be atomic."""
    try:
        with client.start_session() as session, session.start_transaction():
            db["_txn_probe"].update_one(
                {"_id": "probe"}, {"$inc": {"n": 1}}, upsert=True, session=session
            )
    except (OperationFailure, PyMongoError) as exc:
        raise TransactionsUnavailable(
            "The database server cannot run multi-document transactions, which the outbox "
            "and the points ledger need. Use the embedded SecantusDB (leave MONGO_URL unset) "
            "or a MongoDB replica set (a single-node one is enough). "
            f"Server said: {exc}"
        ) from exc


def in_transaction(client: MongoClient, work: Callable[[ClientSession], T]) -> T:
    """Run `work(session)` in one transaction, retried on transient errors by pymongo."""
    with client.start_session() as session:
        return session.with_transaction(work)


class MongoProvider(DependencyProvider):
    """Base for a service's storage: subclasses say which wrapper speaks their domain verbs.

    `wrap(client, db)` is called once; the wrapper it returns must be safe to share between
    workers (pymongo clients are).
    """

    def __init__(self, service_name: str, **kwargs: Any):
        self.service_name = service_name
        super().__init__(**kwargs)

    def setup(self):
        url = self.container.config.get("MONGO_URL") or settings.mongo_url()
        self.client = connect(url)
        self.db = self.client[settings.db_name(self.service_name, self.container.config)]
        check_transactions(self.client, self.db)
        self.wrapper = self.wrap(self.client, self.db)
        prepare = getattr(self.wrapper, "prepare", None)
        if prepare:
            prepare()

    def wrap(self, client: MongoClient, db: Database) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def get_dependency(self, _worker_ctx):
        return self.wrapper


class PingStore:
    """Storage of a service that has no collections yet: it can only say the database answers."""

    def __init__(self, client: MongoClient, db: Database):
        self.client = client
        self.db = db

    def ping(self) -> None:
        self.db.command("ping")


class PingStorage(MongoProvider):
    def wrap(self, client, db):
        return PingStore(client, db)
