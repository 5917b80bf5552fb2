"""The composition root: settings -> engine (migrated) -> unit of work."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine

from dongne.adapters.db.engine import make_engine, migrate
from dongne.adapters.db.job_records import job_lock
from dongne.adapters.db.leader_lock import (
    FileLeaderLock,
    PostgresLeaderLock,
    SoleLeader,
    leader_lock,
)
from dongne.adapters.db.ledger_store import AccountRef
from dongne.adapters.log_keys import load_signer
from dongne.adapters.nominatim import nominatim_geocoder
from dongne.adapters.secrets import Secrets
from dongne.adapters.witness_client import HttpWitness
from dongne.config import Settings
from dongne.services import fraud
from dongne.services.batching import BatchingWorker
from dongne.services.geocoding import Geocoder
from dongne.services.payment_batches import PaymentBatcher
from dongne.services.sale_batches import SaleBatcher
from dongne.services.unit_of_work import UnitOfWork
from dongne.services.witnessing import Published, Witness, publish
from dongne.tlog.cosignature import CosignatureVerifier
from dongne.tlog.note import Signer, Verifier


@dataclass
class App:
    settings: Settings
    engine: Engine
    uow: UnitOfWork
    read_engine: Engine | None = None
    """``DONGNE_DATABASE_READ_URL``'s engine (a standby), or None: reads go to ``engine``."""
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC), repr=False)
    """The time where no request's dependency can be overridden (the abuse limits' windows,
    read in a middleware): tests pin it, as they override ``deps.clock`` for routes."""
    _signer: Signer | None = field(default=None, init=False, repr=False)
    _secrets: Secrets | None = field(default=None, init=False, repr=False)
    _accounts: dict[tuple[int, str], AccountRef] = field(
        default_factory=dict, init=False, repr=False
    )
    """The accounts every unit of work of this process has seen committed (ids never change)."""
    _payments: PaymentBatcher | None = field(default=None, init=False, repr=False)
    _purchases: SaleBatcher | None = field(default=None, init=False, repr=False)
    _fraud_watch: BatchingWorker[int, list[int]] | None = field(
        default=None, init=False, repr=False
    )

    @property
    def secrets(self) -> Secrets:
        if self._secrets is None:
            self._secrets = Secrets.from_settings(self.settings)
        return self._secrets

    def unit_of_work(self) -> UnitOfWork:
        """A unit of work of its own: one per request or thread (a unit of work is not shared)."""
        return UnitOfWork(self.engine, account_cache=self._accounts)

    def payment_batcher(self) -> PaymentBatcher:
        """This process's group commit for counter payments (``payment_batches``)."""
        if self._payments is None:
            self._payments = PaymentBatcher(
                self.unit_of_work,
                self.secrets,
                attempts_max=self.settings.pin_attempts_max,
                max_batch=self.settings.payment_batch_max,
                linger_seconds=self.settings.payment_batch_linger_ms / 1000,
            )
        return self._payments

    def sale_batcher(self) -> SaleBatcher:
        """This process's group commit for voucher purchases in the sale's turn: their polls,
        then their purchases (``sale_batches``, ``purchase_batches``)."""
        if self._purchases is None:
            self._purchases = SaleBatcher(
                self.unit_of_work,
                max_batch=self.settings.purchase_batch_max,
                linger_seconds=self.settings.purchase_batch_linger_ms / 1000,
            )
        return self._purchases

    def fraud_watch(self) -> BatchingWorker[int, list[int]]:
        """This process's online fraud check: committed payments, checked in batches."""
        if self._fraud_watch is None:
            settings = fraud.fraud_settings_from(self.settings)
            stored = fraud.AlertsStored()  # the watch's one thread alone uses it
            self._fraud_watch = BatchingWorker(
                "dongne-fraud-watch",
                lambda ids: fraud.check_payments(self.unit_of_work(), ids, settings, stored),
                max_batch=self.settings.payment_batch_max,
            )
        return self._fraud_watch

    def stop_workers(self) -> None:
        """Finish the batches in flight (at the server's shutdown)."""
        payments, purchases, fraud_watch = self._payments, self._purchases, self._fraud_watch
        # a server started again makes new ones
        self._payments = self._purchases = self._fraud_watch = None
        for worker in (payments, purchases, fraud_watch):
            if worker is not None:
                worker.stop()

    def reader(self) -> UnitOfWork:
        return UnitOfWork(self.engine, read_only=True, account_cache=self._accounts)

    def standby_reader(self) -> UnitOfWork:
        """A read-only unit of work on the standby when one is set: for reads that may be a
        moment behind the primary (what it has applied of the log of changes), never for a
        read that a write then relies on."""
        return UnitOfWork(self.read_engine or self.engine, read_only=True)

    def log_signer(self) -> Signer:
        """The operator's key; on the embedded default it is created on first use."""
        if self._signer is None:
            self._signer = load_signer(self.settings)
        return self._signer

    def leader_lock(self) -> PostgresLeaderLock | FileLeaderLock | SoleLeader:
        """The lock that lets one server process of all that serve this database lead."""
        return leader_lock(self.engine)

    def log_verifier(self) -> Verifier:
        return Verifier.from_key(self.log_signer().verifier_key)

    def geocoder(self) -> Geocoder | None:
        """The geocoder ``DONGNE_GEOCODER`` names; None when geocoding is off."""
        if self.settings.geocoder == "nominatim":
            return nominatim_geocoder(self.settings)
        return None

    def witnesses(self) -> list[HttpWitness]:
        return [HttpWitness.from_setting(s) for s in self.settings.log_witnesses]

    def witness_verifiers(self) -> list[CosignatureVerifier]:
        return [w.verifier for w in self.witnesses()]

    def job_lock(self, job: str) -> AbstractContextManager[bool]:
        """A scheduled job's lock across every worker (``adapters.db.job_records``)."""
        return job_lock(self.engine, job)

    def publish_log(
        self,
        now: datetime,
        *,
        min_interval_seconds: float | None = None,
        witnesses: Sequence[Witness] | None = None,
        wait_for_sequencer: bool = False,
    ) -> Published:
        """Sequence what is queued, sign a checkpoint if one is due, ask the witnesses.

        It runs in a unit of work of its own: the server's publisher thread calls it, and a
        UnitOfWork holds its open transaction, so sharing ``self.uow`` across threads breaks.
        """
        interval = self.settings.log_checkpoint_interval_seconds
        return publish(
            UnitOfWork(self.engine),
            signer=self.log_signer(),
            now=now,
            min_interval_seconds=interval if min_interval_seconds is None else min_interval_seconds,
            witnesses=self.witnesses() if witnesses is None else witnesses,
            wait_for_sequencer=wait_for_sequencer,
        )


def bootstrap(settings: Settings | None = None, *, database_url: str | None = None) -> App:
    """Build the app; the schema is brought up to date by running the migrations."""
    settings = settings or Settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    engine = make_engine(settings.database_url, pool_size=settings.database_pool_size)
    migrate(engine)
    read_url = settings.database_read_url
    read_engine = make_engine(read_url, pool_size=settings.database_pool_size) if read_url else None
    return App(settings, engine, UnitOfWork(engine), read_engine)
