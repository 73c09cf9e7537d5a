"""Writes for accounts: creation, plan changes and every change of balance.

Every balance change runs in a short transaction holding the account's row lock and writes a
LedgerEntry with the resulting balance, so the balance always equals the sum of its ledger and
concurrent changes never lose an update. The database refuses a negative balance.
"""

import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.text import slugify
from django.utils.translation import gettext as _

from callcenter.db import cursor

from . import queries, selectors
from .models import Account, ApiToken, DoNotCall, LedgerEntry
from .signals import balance_added

CREDITS = LedgerEntry.Unit.CREDITS
MINUTES = LedgerEntry.Unit.MINUTES
FOUR_PLACES = Decimal("0.0001")


class InsufficientBalance(Exception):
    """The account cannot cover a reservation."""


@dataclass(frozen=True)
class Hold:
    unit: str  # "credits" | "minutes" | "" (unlimited: nothing held)
    amount: Decimal


NO_HOLD = Hold(unit="", amount=Decimal("0"))
# The account column each ledger unit moves.
BALANCE_COLUMN = {CREDITS: "credits", MINUTES: "minutes"}


def _money(value) -> Decimal:
    return Decimal(value).quantize(FOUR_PLACES)


def _generate_account_id(name: str) -> str:
    base = slugify(name)[:40] or "account"
    candidate = base
    while Account.objects.filter(account_id=candidate).exists():
        candidate = f"{base}-{get_random_string(6, 'abcdefghijklmnopqrstuvwxyz0123456789')}"
    return candidate


# The columns the balance functions below read and write on a locked account: a lock taken
# only to move money may load just these (``account_lock(pk, fields=BALANCE_FIELDS)``).
BALANCE_FIELDS = ("id", "credits", "minutes", "total_spent")


def _apply(
    account: Account,
    *,
    unit: str,
    amount: Decimal,
    kind: str,
    reason: str,
    reference: str = "",
    user=None,
) -> LedgerEntry:
    """Change a locked account's balance by ``amount`` and record it. Caller holds the lock."""
    field = BALANCE_COLUMN[unit]
    new_balance = getattr(account, field) + amount
    if new_balance < 0:
        raise InsufficientBalance(field)
    setattr(account, field, new_balance)
    _add_to_balances(account.pk, {field: amount})
    entry = _ledger_entry(account, unit=unit, amount=amount, balance_after=new_balance,
                          kind=kind, reason=reason, reference=reference, user=user)
    entry.save(force_insert=True)
    return entry


def _ledger_entry(account: Account, *, unit: str, amount: Decimal, balance_after: Decimal,
                  kind: str, reason: str, reference: str, user=None) -> LedgerEntry:
    """The ledger's record of one balance change (not saved yet)."""
    return LedgerEntry(account=account, kind=kind, unit=unit, amount=amount,
                       balance_after=balance_after, reason=reason[:255],
                       reference=reference[:120], created_by=user)


def account_lock(account_pk: int, *, fields: tuple[str, ...] = ()) -> Account:
    """The account row, locked until the transaction ends (every balance change and every
    dial takes this lock). ``fields``: load only these columns (the others on access)."""
    return queries.account_columns(fields).get(account_pk, lock=True)


@transaction.atomic
def account_create(
    *,
    account_id: str | None = None,
    initial_credits=None,
    initial_minutes=None,
    user=None,
    **fields,
) -> Account:
    """Create an account; the initial balance is recorded in the ledger as a top-up."""
    account = Account(
        account_id=account_id or _generate_account_id(fields["account_name"]), **fields
    )
    account.full_clean()
    account.save()
    if initial_credits:
        _apply(
            account,
            unit=CREDITS,
            amount=_money(initial_credits),
            kind=LedgerEntry.Kind.TOPUP,
            reason=_("Initial balance"),
            reference="initial",
            user=user,
        )
    if initial_minutes:
        _apply(
            account,
            unit=MINUTES,
            amount=_money(initial_minutes),
            kind=LedgerEntry.Kind.TOPUP,
            reason=_("Initial balance"),
            reference="initial",
            user=user,
        )
    return account


def account_update(*, account: Account, **fields) -> Account:
    """Change plan, limits, pricing or contact details (never the balance)."""
    for name, value in fields.items():
        setattr(account, name, value)
    account.full_clean()
    account.save(update_fields=[*fields, "updated_at"])
    return account


def account_set_status(*, account: Account, status: str) -> Account:
    Account.objects.filter(pk=account.pk).update(status=status, updated_at=timezone.now())
    account.status = status
    return account


def account_topup_validate(*, credits=None, minutes=None) -> None:
    """The rules of a top-up, shared by the API, the admin and ``account_topup``.

    Each given amount must be a number above zero with at most four decimal places, and at
    least one must be given. Raises a ValidationError keyed by field.
    """
    errors = {}
    for field, value in (("credits", credits), ("minutes", minutes)):
        if value is None or value == "":
            continue
        try:
            amount = Decimal(value)
        except (InvalidOperation, TypeError, ValueError):
            errors[field] = _("Must be a number.")
            continue
        if not amount.is_finite() or amount <= 0:
            errors[field] = _("Must be greater than zero.")
        elif amount != amount.quantize(FOUR_PLACES):
            errors[field] = _("Must have at most 4 decimal places.")
    if not errors and credits in (None, "") and minutes in (None, ""):
        message = _("Give credits, minutes or both.")
        errors = {"credits": message, "minutes": message}
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def account_topup(
    *, account: Account, credits=None, minutes=None, reference: str = "", user=None
) -> list[LedgerEntry]:
    """Add balance. Amounts must be positive; at least one is required."""
    account_topup_validate(credits=credits, minutes=minutes)
    locked = account_lock(account.pk)
    entries = []
    for unit, amount in ((CREDITS, credits), (MINUTES, minutes)):
        if amount:
            entries.append(
                _apply(
                    locked,
                    unit=unit,
                    amount=_money(amount),
                    kind=LedgerEntry.Kind.TOPUP,
                    reason=_("Top-up"),
                    reference=reference,
                    user=user,
                )
            )
    account.credits, account.minutes = locked.credits, locked.minutes
    # Campaigns waiting for balance resume at once, not at the next sweep.
    balance_added.send(sender=Account, account_id=account.pk)
    return entries


@transaction.atomic
def account_adjust(*, account: Account, unit: str, amount, reason: str, user=None) -> LedgerEntry:
    """An operator's correction, positive or negative (never below zero)."""
    locked = account_lock(account.pk)
    return _apply(
        locked,
        unit=unit,
        amount=_money(amount),
        kind=LedgerEntry.Kind.ADJUSTMENT,
        reason=reason,
        user=user,
    )


def hold_for_call(*, account: Account, max_call_duration: int) -> Hold:
    """What a call of up to ``max_call_duration`` seconds must reserve on this account."""
    if account.plan_type == Account.Plan.UNLIMITED:
        return NO_HOLD
    minutes = Decimal(max_call_duration) / 60
    if account.plan_type == Account.Plan.MINUTES:
        return Hold(unit=MINUTES, amount=_money(minutes))
    return Hold(
        unit=CREDITS, amount=_money(account.cost_per_call_setup + account.cost_per_minute * minutes)
    )


def can_cover(*, account: Account, hold: Hold) -> bool:
    """Whether the account's balance covers this hold (always, when nothing is held)."""
    return not hold.unit or getattr(account, BALANCE_COLUMN[hold.unit]) >= hold.amount


def call_cost(*, account: Account, seconds: int, answered: bool) -> Decimal:
    """Price of a call in credits: setup plus per-minute, per second; unanswered = setup only."""
    if not answered:
        return _money(account.cost_per_call_setup)
    return _money(account.cost_per_call_setup + account.cost_per_minute * Decimal(seconds) / 60)


def account_reserve(*, account: Account, hold: Hold, reference: str) -> None:
    """Take a hold from a LOCKED account (caller holds select_for_update). Raises
    InsufficientBalance when the balance cannot cover it."""
    if not hold.unit:
        return
    _apply(
        account,
        unit=hold.unit,
        amount=-hold.amount,
        kind=LedgerEntry.Kind.RESERVATION,
        reason=_("Hold for a call"),
        reference=reference,
    )


def account_settle(
    *, account: Account, hold: Hold, cost: Decimal, seconds: int, reference: str
) -> None:
    """Release a call's hold and charge what it used, on a LOCKED account.

    Credit plans pay ``cost`` (capped at the hold, which covered the longest allowed call);
    minute plans pay the minutes talked (capped likewise); unlimited plans pay nothing. The
    cost in credits is added to total_spent for every plan.
    """
    # One UPDATE and one INSERT for the whole settle (it runs after every call): the hold
    # comes back, the call is charged, total_spent grows; the ledger gets both entries.
    changes, entries = {}, []
    if hold.unit:
        field = BALANCE_COLUMN[hold.unit]
        balance = getattr(account, field) + hold.amount
        entries.append(_ledger_entry(
            account, unit=hold.unit, amount=hold.amount, balance_after=balance,
            kind=LedgerEntry.Kind.REFUND, reason=_("Hold released"), reference=reference))
        used = cost if hold.unit == CREDITS else _money(Decimal(seconds) / 60)
        used = min(used, hold.amount)  # never more than the hold: never below zero
        if used > 0:
            balance -= used
            entries.append(_ledger_entry(
                account, unit=hold.unit, amount=-used, balance_after=balance,
                kind=LedgerEntry.Kind.SETTLEMENT, reason=_("Call charged"),
                reference=reference))
        changes[field] = hold.amount - used
        setattr(account, field, balance)
    if cost:
        changes["total_spent"] = cost
        account.total_spent += cost
    if changes:
        _add_to_balances(account.pk, changes)
    LedgerEntry.objects.bulk_create(entries)


def account_settle_call(*, account_pk: int, hold: Hold, cost: Decimal, seconds: int,
                        reference: str) -> None:
    """``account_settle`` for an account the caller has NOT locked: the settle's UPDATE takes
    the row lock itself (held until the transaction ends, as a lock taken first would be) and
    returns the balances that the ledger's entries record, so that the account's lock, on
    which every dial and settle of the account queue, is held one round trip less. The same
    changes and the same ledger entries as ``account_settle``; nothing (no lock either) when
    no money moves."""
    changes, used = {}, Decimal(0)
    if hold.unit:
        field = BALANCE_COLUMN[hold.unit]
        used = cost if hold.unit == CREDITS else _money(Decimal(seconds) / 60)
        used = min(used, hold.amount)  # never more than the hold: never below zero
        changes[field] = hold.amount - used
    if cost:
        changes["total_spent"] = cost
    if not changes:
        return
    fields = [Account._meta.get_field(name) for name in changes]
    params = [connection.ops.adapt_decimalfield_value(value, f.max_digits, f.decimal_places)
              for f, value in zip(fields, changes.values(), strict=True)]
    with cursor() as db:
        db.execute(queries.balances_add_sql(tuple(changes), returning=True),
                   [*params, account_pk])
        row = db.fetchone()
    if row is None:
        raise Account.DoesNotExist(f"Account {account_pk} does not exist")
    if not hold.unit:
        return
    balances = dict(zip(("credits", "minutes"), row, strict=True))
    after = _money(str(balances[field]))  # (SQLite's raw cursor hands back a float)
    before = after - (hold.amount - used)
    account = Account(pk=account_pk)
    entries = [_ledger_entry(account, unit=hold.unit, amount=hold.amount,
                             balance_after=before + hold.amount, kind=LedgerEntry.Kind.REFUND,
                             reason=_("Hold released"), reference=reference)]
    if used > 0:
        entries.append(_ledger_entry(
            account, unit=hold.unit, amount=-used, balance_after=after,
            kind=LedgerEntry.Kind.SETTLEMENT, reason=_("Call charged"), reference=reference))
    LedgerEntry.objects.bulk_create(entries)


def _add_to_balances(account_pk: int, deltas: dict[str, Decimal]) -> None:
    """``UPDATE … SET credits = credits + %s, …``: every balance change goes through it, the
    increment made by the database (as an F() expression would) under the caller's row lock."""
    fields = [Account._meta.get_field(name) for name in deltas]
    params = [connection.ops.adapt_decimalfield_value(value, f.max_digits, f.decimal_places)
              for f, value in zip(fields, deltas.values(), strict=True)]
    with cursor() as db:
        db.execute(queries.balances_add_sql(tuple(deltas)), [*params, account_pk])


def account_release(*, account: Account, hold: Hold, reference: str) -> None:
    """Give a hold back in full (the call never happened). Caller holds the account lock."""
    if hold.unit:
        _apply(
            account,
            unit=hold.unit,
            amount=hold.amount,
            kind=LedgerEntry.Kind.REFUND,
            reason=_("Hold released"),
            reference=reference,
        )


def do_not_call_add(*, account: Account, phone: str = "", rut: str = "", reason: str = ""):
    """Add a phone and/or RUT to the account's do-not-call list (idempotent)."""
    for field, value in (("phone", phone), ("rut", rut)):
        if value:
            DoNotCall.objects.get_or_create(
                account=account, **{field: value}, defaults={"reason": reason[:255]}
            )


# 40 hexadecimal characters, the shape of the DRF tokens that integrations already hold.
API_TOKEN_BYTES = 20
# last_used_at is written at most this often per token, not on every request.
API_TOKEN_TOUCH_SECONDS = 60


def api_token_create(*, user, revoke_others: bool = False) -> str:
    """Issue an API key to ``user``, valid API_TOKEN_TTL_DAYS; returns the key, which is shown
    this once (only its digest is stored). ``revoke_others`` deletes the user's earlier keys."""
    key = secrets.token_hex(API_TOKEN_BYTES)
    now = timezone.now()
    with transaction.atomic():
        if revoke_others:
            ApiToken.objects.filter(user=user).delete()
        ApiToken.objects.create(
            user=user,
            digest=ApiToken.digest_of(key),
            created_at=now,
            expires_at=now + timedelta(days=settings.API_TOKEN_TTL_DAYS),
        )
    return key


def api_token_touch(*, token: ApiToken, now) -> None:
    if token.last_used_at and now - token.last_used_at < timedelta(
        seconds=API_TOKEN_TOUCH_SECONDS
    ):
        return
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)


def ledger_summarize_chunk(*, account_id: int, unit: str, cutoff, limit: int) -> int:
    """Replace up to ``limit`` of the account's oldest entries of ``unit`` dated before
    ``cutoff`` by the account's one retention summary entry of that unit, in one short
    transaction: the entries are deleted and their sum added to the summary together, so the
    balance equals the ledger's sum at every commit (the balance itself does not change, and
    its row is not locked). The summary stands for a prefix of the ledger: its date is the last
    removed entry's and its balance_after that entry's. Returns the entries removed (0: none
    left). Callers run one purge at a time (``calls.retention``)."""
    with transaction.atomic():
        summary = selectors.retention_summary_of(account_id=account_id, unit=unit, cutoff=cutoff)
        if summary is not None:
            summary = LedgerEntry.objects.select_for_update().get(pk=summary.pk)
        rows = list(
            LedgerEntry.objects
            .filter(account_id=account_id, unit=unit, created_at__lt=cutoff)
            .exclude(kind=LedgerEntry.Kind.RETENTION_SUMMARY)
            .order_by("created_at", "id")
            .select_for_update(skip_locked=True)
            .values_list("id", "amount", "created_at", "balance_after")[:limit]
        )
        if not rows:
            return 0
        LedgerEntry.objects.filter(id__in=[row[0] for row in rows]).delete()
        amount = sum((row[1] for row in rows), Decimal("0"))
        last_at, balance_after = rows[-1][2], rows[-1][3]
        count, since = len(rows), rows[0][2].date()
        if summary is not None:
            before, since = selectors.summary_reference_parse(summary.reference)
            count += before
            amount += summary.amount
        fields = {
            "amount": amount,
            "balance_after": balance_after,
            "created_at": last_at,
            "reason": _("Summary of %(count)s entries from %(since)s to %(until)s, removed "
                        "by the retention policy")
            % {"count": count, "since": since.isoformat(), "until": last_at.date().isoformat()},
            "reference": selectors.summary_reference(count=count, since=since,
                                                     until=last_at.date()),
        }
        if summary is None:
            summary = LedgerEntry.objects.create(
                account_id=account_id, unit=unit, kind=LedgerEntry.Kind.RETENTION_SUMMARY,
                **fields)
        # created_at is auto_now_add: set by an update, where the entries it replaces were.
        LedgerEntry.objects.filter(pk=summary.pk).update(**fields)
        return len(rows)
