from django.core.management.base import BaseCommand, CommandError

from calls.retention import DEFAULT_BATCH_SIZE, AccountPurge, PurgeRunning, purge_expired_records


class Command(BaseCommand):
    help = ("Remove call records older than each account's retention period (finished "
            "campaigns only) and replace the ledger entries as old by one summary entry per "
            "account and unit. --dry-run counts and changes nothing.")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true",
                            help="Print what would be removed; change nothing.")
        parser.add_argument("--account", help="Only this account (its account_id or its id).")
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
                            help="Rows per transaction (default %(default)s).")

    def handle(self, *args, dry_run=False, account=None, batch_size=DEFAULT_BATCH_SIZE,
               **options):
        from accounts.models import Account

        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        account_pk = None
        if account:
            found = Account.objects.filter(account_id=account).first() or (
                Account.objects.filter(pk=account).first() if account.isdigit() else None)
            if found is None:
                raise CommandError(f"No account {account}")
            account_pk = found.pk
        totals = {"attempts": 0, "jobs": 0, "campaigns": 0, "ledger": 0}

        def show(report: AccountPurge):
            self.stdout.write(describe(report, dry_run=dry_run))
            totals["attempts"] += report.attempts
            totals["jobs"] += report.jobs
            totals["campaigns"] += report.campaigns
            totals["ledger"] += (sum(x.entries for x in report.ledger) if dry_run
                                 else report.ledger_entries)

        try:
            found = purge_expired_records(account_id=account_pk, dry_run=dry_run,
                                          batch_size=batch_size, on_account=show)
        except PurgeRunning as error:
            raise CommandError(str(error)) from error
        verb = "Would remove" if dry_run else "Removed"
        self.stdout.write(
            f"{verb} {totals['attempts']} call attempts, {totals['jobs']} jobs, "
            f"{totals['campaigns']} campaigns and {totals['ledger']} ledger entries "
            f"(summarised) of {len(found)} accounts.")


def describe(report: AccountPurge, *, dry_run: bool) -> str:
    """One account's line(s): counts, and each ledger unit's summary."""
    verb = "would remove" if dry_run else "removed"
    lines = [f"{report.account_key} (records before {report.cutoff:%Y-%m-%d %H:%M} UTC): "
             f"{verb} {report.attempts} call attempts, {report.jobs} jobs, "
             f"{report.campaigns} campaigns"]
    for unit in report.ledger:
        lines.append(
            f"  ledger {unit.unit}: {unit.entries} entries ({unit.amount:+}) from "
            f"{unit.since} to {unit.until} -> one retention_summary entry standing for "
            f"{unit.summarised} entries, amount {unit.summary_amount:+}")
    if not dry_run:
        lines.append(f"  ledger entries summarised: {report.ledger_entries}; longest "
                     f"transaction {report.longest_chunk_seconds:.3f} s")
    return "\n".join(lines)
