"""The one transaction runner: a use case's attempt in one transaction, run again after a
transient conflict or a lost budget draw, and at most once per idempotency key."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from dongne.adapters.db.ledger_store import MAX_IDEMPOTENCY_KEY_LENGTH, DrawLost
from dongne.domain.access import Principal
from dongne.domain.errors import DongneError
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

    Two first uses of a key racing on SQLite can't happen (writers take the lock at BEGIN); on
    PostgreSQL the loser waits on the key's row, then reads the winner's response.
    """
    run = attempt if once is None else partial(once_within, uow, once, attempt)
    conflicts = draws_lost = 0
    while True:
        try:
            with uow:
                try:
                    result = run()
                except CommitThenRefuse as refused:
                    uow.commit()
                    raise refused.refusal from None
                except CommitThenRunAgain:
                    # Only a right PIN after wrong ones asks for this, and it reset the count:
                    # the next attempt finds it at zero unless new wrong tries came in, which
                    # lock at the limit.
                    uow.commit()
                    continue
                uow.commit()
                return result
        except DrawLost:
            # Each lost draw means another purchase won the budget: the budget only shrinks,
            # so the rerun soon sees it short and sells at the policy's terms instead.
            draws_lost += 1
            if draws_lost == MAX_DRAWS_LOST:
                raise
        except DBAPIError as error:
            conflicts += 1
            if conflicts == MAX_ATTEMPTS or not is_transient(error):
                raise


def once_within(uow: UnitOfWork, once: Once[ResultT], action: Callable[[], ResultT]) -> ResultT:
    """``run_in_transaction``'s claim of the key, action and stored response inside the
    caller's open unit of work, for a use case that has to read (and authenticate) before it
    knows its key."""
    stored = uow.ledger.claim_idempotency_key(once.key, once.operation, once.request, once.now)
    if stored is not None:
        return once.result_type(**stored)
    result = action()
    uow.ledger.store_response(once.key, asdict(result))
    return result


def is_transient(error: DBAPIError) -> bool:
    """PostgreSQL aborted the transaction for a conflict, not for anything in the request;
    the whole transaction was rolled back, so running it again is safe."""
    return getattr(error.orig, "sqlstate", None) in TRANSIENT_SQLSTATES
