"""The one transaction runner: a use case's attempt in one transaction, run again after a
transient conflict, a lost budget draw or a lost database connection, and at most once per
idempotency key."""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from dongne.adapters.db.engine import is_connection_lost
from dongne.adapters.db.ledger_store import MAX_IDEMPOTENCY_KEY_LENGTH, DrawLost
from dongne.domain.access import Principal
from dongne.domain.errors import DatabaseUnavailable, DongneError
from dongne.services.unit_of_work import DBAPIError, UnitOfWork

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T")
ResultT = TypeVar("ResultT", bound="DataclassInstance")
"""A stored response: a dataclass, so that it can be kept as JSON and rebuilt from it."""

TRANSIENT_SQLSTATES = frozenset({"40001", "40P01"})
"""serialization_failure and deadlock_detected"""
MAX_ATTEMPTS = 3
MAX_DRAWS_LOST = 100
RECONNECT_SECONDS = 30.0
"""How long a transaction is run again while the database is out of reach: longer than
pg_auto_failover takes to promote the standby (about 16 s, docs/ha.md), shorter than a
client's patience."""
RECONNECT_FIRST_WAIT_SECONDS = 0.05
RECONNECT_WAIT_SECONDS_MAX = 1.0
RETRY_AFTER_SECONDS = 5


class CommitThenRefuse(Exception):
    """Raised by an attempt whose writes so far must outlive its refusal (a wrong PIN's
    count of failed tries): the transaction runner commits them, then raises ``refusal``."""

    def __init__(self, refusal: DongneError):
        super().__init__(refusal)
        self.refusal = refusal


class CommitThenRunAgain(Exception):
    """Raised by an attempt whose writes so far must be committed before it can go on (a
    right PIN resetting the count of wrong tries, its user's row locked): the transaction
    runner commits them and runs the attempt again, from the start, in a new transaction."""


def scoped_key(operation: str, owner: int | str | None, key: str) -> str:
    """``key`` namespaced by operation and owner, so two owners' keys never meet: a user,
    partner or merchant id (``pay-qr:29:…``), a caller's ``caller_scope``
    (``purchase:citizen-29:…``), an intent naming its own steps (``payment_intent:7:approve``),
    or ``None`` for an anonymous caller. Hashed when the client's key (up to 200 characters)
    would make it too long to store: every client key the API accepts must fit, so a scope is
    never prefixed to it any other way."""
    scoped = f"{operation}:{key}" if owner is None else f"{operation}:{owner}:{key}"
    if len(scoped) <= MAX_IDEMPOTENCY_KEY_LENGTH:
        return scoped
    return f"{operation}:sha256:{hashlib.sha256(scoped.encode()).hexdigest()}"


def caller_scope(caller: Principal) -> str:
    """The owner part of a key scoped to any kind of caller (``citizen-29``, ``partner-3``).
    The routes that began with a user's id alone keep it, so that a retry still finds the
    response its first try stored."""
    return f"{caller.kind.value}-{caller.user_id or caller.partner_id}"


@dataclass(frozen=True)
class Once(Generic[ResultT]):
    """What makes a request run at most once: its ``key`` (already scoped) and the request
    it stands for, whose stored response of type ``result_type`` answers any retry."""

    operation: str
    key: str
    request: dict[str, Any]
    now: datetime
    result_type: type[ResultT]


@overload
def run_in_transaction(
    uow: UnitOfWork, attempt: Callable[[], ResultT], *, once: Once[ResultT]
) -> ResultT: ...
@overload
def run_in_transaction(uow: UnitOfWork, attempt: Callable[[], T]) -> T: ...
def run_in_transaction(
    uow: UnitOfWork, attempt: Callable[[], Any], *, once: Once[Any] | None = None
) -> Any:
    """Run ``attempt`` in one transaction and commit it; with ``once``, at most once per key.

    A transaction PostgreSQL aborts as a deadlock victim or for a serialization failure is run
    again, up to ``MAX_ATTEMPTS`` times, and so is one whose budget draw lost a race at commit
    (``DrawLost``). An attempt that raises ``CommitThenRefuse`` has its writes committed and
    its refusal raised; one that raises ``CommitThenRunAgain`` is committed and run again.

    A transaction whose connection is lost (a failover, a restarted server) is run again on a
    new connection, waiting longer each time, for up to ``RECONNECT_SECONDS``; then it is
    ``DatabaseUnavailable``. Lost before its COMMIT, it was rolled back. Lost during its
    COMMIT, it may have committed: it is run again only if it claimed an idempotency key, whose
    stored response then answers, so it is neither lost nor done twice; without a key the
    outcome is unknown and said so.

    Two first uses of a key racing on SQLite can't happen (writers take the lock at BEGIN); on
    PostgreSQL the loser waits on the key's row, then reads the winner's response.
    """
    run = attempt if once is None else partial(once_within, uow, once, attempt)
    conflicts = draws_lost = 0
    reconnecting = Reconnecting()
    while True:
        committing = False
        try:
            with uow:
                try:
                    result = run()
                except CommitThenRefuse as refused:
                    committing = True
                    uow.commit()
                    raise refused.refusal from None
                except CommitThenRunAgain:
                    # Only a right PIN after wrong ones asks for this, and it reset the count:
                    # the next attempt finds it at zero unless new wrong tries came in, which
                    # lock at the limit.
                    committing = True
                    uow.commit()
                    continue
                committing = True
                uow.commit()
                return result
        except DrawLost:
            # Each lost draw means another purchase won the budget: the budget only shrinks,
            # so the rerun soon sees it short and sells at the policy's terms instead.
            draws_lost += 1
            if draws_lost == MAX_DRAWS_LOST:
                raise
        except DBAPIError as error:
            if is_connection_lost(error):
                if committing and not uow.idempotency_key_claimed:
                    raise DatabaseUnavailable(
                        "the database connection broke while committing: whether it was done"
                        " is unknown",
                        outcome_unknown=True,
                        retry_after_seconds=RETRY_AFTER_SECONDS,
                    ) from error
                reconnecting.wait(error)
                continue
            conflicts += 1
            if conflicts == MAX_ATTEMPTS or not is_transient(error):
                raise


class Reconnecting:
    """The waits between runs of a transaction whose connection was lost: doubling from
    ``RECONNECT_FIRST_WAIT_SECONDS`` to ``RECONNECT_WAIT_SECONDS_MAX``, jittered so that the
    clients of a failed-over database do not all knock at once, until ``RECONNECT_SECONDS``
    have passed since the first loss."""

    def __init__(self) -> None:
        self.first_lost_at: float | None = None
        self.next_wait = RECONNECT_FIRST_WAIT_SECONDS

    def wait(self, error: DBAPIError) -> None:
        now = time.monotonic()
        if self.first_lost_at is None:
            self.first_lost_at = now
        left = self.first_lost_at + RECONNECT_SECONDS - now
        if left <= 0:
            raise DatabaseUnavailable(
                f"the database has been out of reach for {RECONNECT_SECONDS:g} seconds:"
                " send the request again, with the same idempotency key",
                retry_after_seconds=RETRY_AFTER_SECONDS,
            ) from error
        time.sleep(min(left, self.next_wait * random.uniform(0.5, 1.0)))  # noqa: S311 - jitter
        self.next_wait = min(self.next_wait * 2, RECONNECT_WAIT_SECONDS_MAX)


def once_within(uow: UnitOfWork, once: Once[ResultT], action: Callable[[], ResultT]) -> ResultT:
    """``run_in_transaction``'s claim of the key, action and stored response inside the
    caller's open unit of work, for a use case that has to read (and authenticate) before it
    knows its key."""
    stored = uow.ledger.claim_idempotency_key(once.key, once.operation, once.request, once.now)
    uow.idempotency_key_claimed = True
    if stored is not None:
        return once.result_type(**stored)
    result = action()
    uow.ledger.store_response(once.key, asdict(result))
    return result


def is_transient(error: DBAPIError) -> bool:
    """PostgreSQL aborted the transaction for a conflict, not for anything in the request;
    the whole transaction was rolled back, so running it again is safe."""
    return getattr(error.orig, "sqlstate", None) in TRANSIENT_SQLSTATES
