"""The operators' admin for campaigns, jobs, call attempts, the dashboard and the exports.

Every page renders for an operator with bounded queries; actions change state only through
the services (and log events); the Excel flow previews and creates; exports are safe."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.staticfiles import finders
from django.urls import reverse
from django.utils import timezone

from batches import admin as batches_admin
from batches.models import Batch, BatchEvent, Job, JobEvent, PendingUpload, PendingUploadChunk
from batches.reasons import JobReason as outcomes
from batches.services import operations
from calls.models import CallAttempt
from tests.admin.data import attempt, campaign, login
from tests.factories import AccountFactory, BatchFactory, JobFactory, UserFactory

SAMPLE = Path(__file__).resolve().parents[3] / "shared" / "samples" / "deudores_sucio.xlsx"
BATCHES = "admin:batches_batch_changelist"


@pytest.fixture(autouse=True)
def _no_publish(published):
    """Nothing reaches a broker: what would be published is recorded instead."""
    return published


@pytest.fixture
def dispatched(monkeypatch):
    """The accounts dispatched (calls.dispatch.dispatch_account), in order."""
    from calls import dispatch

    calls: list[int] = []
    real = dispatch.dispatch_account

    def record(*, account_id):
        calls.append(account_id)
        return real(account_id=account_id)

    monkeypatch.setattr(dispatch, "dispatch_account", record)
    return calls


@pytest.fixture
def _uploads(db):
    """The spreadsheets kept between previews and confirmations (in the database)."""
    return PendingUpload.objects.order_by("pk")


@pytest.fixture
def admin_client(client, operator):
    return login(client, operator)


def change_url(batch):
    return reverse("admin:batches_batch_change", args=[batch.pk])


def act(admin_client, action, batches, **extra):
    return admin_client.post(
        reverse(BATCHES),
        {"action": action, ACTION_CHECKBOX_NAME: [b.pk for b in batches], **extra},
        follow=True,
    )


# --- Pages ------------------------------------------------------------------------------------


def test_every_page_renders_for_an_operator(admin_client, account_a, account_b):
    batch = campaign(account_a, name="Cartera octubre")
    finished = campaign(account_b, status=Batch.Status.COMPLETED)
    job = Job.objects.filter(batch=batch, status=Job.Status.DONE).first()
    call = CallAttempt.objects.filter(job=job).first()
    BatchEvent.objects.create(batch=batch, kind="created", message="Campaña creada")
    JobEvent.objects.create(job=job, kind="dialled", message="#1 +56912345671")
    urls = [
        reverse("admin:index"),
        reverse(BATCHES),
        reverse(BATCHES) + f"?account__id__exact={account_a.pk}",
        reverse(BATCHES) + "?status__exact=running&is_active__exact=1",
        reverse(BATCHES) + "?q=octubre",
        change_url(batch),
        change_url(finished),
        reverse("admin:batches_batch_progress", args=[batch.pk]),
        reverse("admin:batches_batch_create_from_excel"),
        reverse("admin:batches_job_changelist"),
        reverse("admin:batches_job_changelist") + f"?batch={batch.pk}&status__exact=failed",
        reverse("admin:batches_job_changelist") + "?outcome=contact",
        reverse("admin:batches_job_changelist") + "?outcome=none",
        reverse("admin:batches_job_changelist") + "?outcome=other",
        reverse("admin:batches_job_changelist") + f"?account__id__exact={account_b.pk}",
        reverse("admin:batches_job_change", args=[job.pk]),
        reverse("admin:calls_callattempt_changelist"),
        reverse("admin:calls_callattempt_changelist") + "?outcome__exact=contact",
        reverse("admin:calls_callattempt_changelist")
        + f"?created_at__year={timezone.localdate().year}",
        reverse("admin:calls_callattempt_change", args=[call.pk]),
        reverse("admin:calls_dashboard"),
        reverse("admin:calls_dashboard_data"),
        reverse("admin:django_celery_beat_periodictask_changelist"),
        reverse("admin:django_celery_beat_intervalschedule_changelist"),
    ]
    for url in urls:
        response = admin_client.get(url)
        assert response.status_code == 200, url
    page = admin_client.get(change_url(batch)).content.decode()
    assert 'data-live-url="' in page and "Cartera octubre" in page
    assert (
        "user_hangup"
        in admin_client.get(reverse("admin:batches_job_change", args=[job.pk])).content.decode()
    )


def test_changelists_run_a_bounded_number_of_queries(
    admin_client, account_a, account_b, django_assert_max_num_queries
):
    for i in range(30):
        campaign(account_a if i % 2 else account_b, jobs=3)
    # session, user, the page's count, the rows (with their subqueries), the account filter.
    with django_assert_max_num_queries(10):
        response = admin_client.get(reverse(BATCHES))
    assert response.status_code == 200
    assert response.content.decode().count('class="cc-progress"') == 30
    with django_assert_max_num_queries(12):
        assert admin_client.get(reverse("admin:batches_job_changelist")).status_code == 200
    with django_assert_max_num_queries(12):
        assert admin_client.get(reverse("admin:calls_callattempt_changelist")).status_code == 200
    with django_assert_max_num_queries(10):
        assert admin_client.get(reverse("admin:calls_dashboard")).status_code == 200


def test_changelist_figures(admin_client, account_a):
    batch = campaign(account_a, jobs=6)
    row = batches_admin.with_progress(Batch.objects.filter(pk=batch.pk)).get()
    # done, failed (max attempts), pending, in progress, failed (do-not-call), pending
    assert (row.n_done, row.n_failed, row.n_cancelled) == (1, 2, 0)
    # 1 contact of 5 completed calls (1 + 3 no-contact, 1 contact); one call is live.
    assert (row.n_contacted, row.n_dialled) == (1, 5)
    assert row.cost_so_far == Decimal("84.1667") * 5
    assert row.next_due is not None
    page = admin_client.get(reverse(BATCHES)).content.decode()
    assert "3 / 6 (50%)" in page
    assert "20%" in page  # contact rate


def test_client_users_are_redirected_from_the_admin(client, client_a, account_a):
    batch = campaign(account_a)
    login(client, client_a)
    for url in [
        reverse("admin:index"),
        reverse(BATCHES),
        change_url(batch),
        reverse("admin:batches_batch_progress", args=[batch.pk]),
        reverse("admin:batches_batch_export", args=[batch.pk]),
        reverse("admin:batches_batch_create_from_excel"),
        reverse("admin:calls_dashboard"),
        reverse("admin:calls_dashboard_data"),
    ]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login")), url


def test_nothing_is_added_or_deleted_by_hand(admin_client, account_a):
    batch = campaign(account_a)
    job = batch.jobs.first()
    call = CallAttempt.objects.filter(batch=batch).first()
    assert admin_client.get(reverse("admin:batches_batch_add")).status_code == 403
    assert admin_client.get(reverse("admin:batches_job_add")).status_code == 403
    assert admin_client.get(reverse("admin:calls_callattempt_add")).status_code == 403
    for name, obj in [("batches_batch", batch), ("batches_job", job), ("calls_callattempt", call)]:
        url = reverse(f"admin:{name}_delete", args=[obj.pk])
        assert admin_client.post(url, {"post": "yes"}).status_code == 403
    # A job is view-only: posting its form changes nothing.
    pending = batch.jobs.filter(status=Job.Status.PENDING).first()
    url = reverse("admin:batches_job_change", args=[pending.pk])
    assert admin_client.post(url, {"status": "done", "attempts": "9"}).status_code == 403
    pending.refresh_from_db()
    assert (pending.status, pending.attempts) == (Job.Status.PENDING, 0)


# --- Actions through the services ---------------------------------------------------------------


def test_pause_resume_and_cancel_actions_go_through_the_services(
    admin_client, operator, account_a, account_b, dispatched, django_capture_on_commit_callbacks
):
    one, two = campaign(account_a), campaign(account_b)
    act(admin_client, "pause_selected", [one, two])
    for batch in (one, two):
        batch.refresh_from_db()
        assert (batch.status, batch.is_active) == (Batch.Status.PAUSED, False)
        event = batch.events.get(kind=BatchEvent.Kind.PAUSED)
        assert event.user == operator

    with django_capture_on_commit_callbacks(execute=True):
        response = act(admin_client, "resume_selected", [one])
    one.refresh_from_db()
    assert (one.status, one.is_active) == (Batch.Status.RUNNING, True)
    assert one.events.filter(kind=BatchEvent.Kind.RESUMED, user=operator).exists()
    assert "1 campaign resumed." in response.content.decode()
    assert dispatched == [account_a.pk]  # due jobs published; the engine decides the rest

    confirm = act(admin_client, "cancel_selected", [two])
    assert "Yes, cancel them" in confirm.content.decode()
    two.refresh_from_db()
    assert two.status == Batch.Status.PAUSED  # nothing yet
    act(admin_client, "cancel_selected", [two], post="yes")
    two.refresh_from_db()
    assert two.status == Batch.Status.CANCELLED
    assert not two.jobs.filter(status=Job.Status.PENDING).exists()
    assert two.events.get(kind=BatchEvent.Kind.CANCELLED).data["jobs_cancelled"] == 2

    # The services' rules hold: a cancelled campaign cannot be resumed.
    response = act(admin_client, "resume_selected", [two])
    assert "cannot be paused or resumed" in response.content.decode()
    two.refresh_from_db()
    assert two.status == Batch.Status.CANCELLED


def test_retry_failed_now(
    funded_a, admin_client, operator, account_a, dispatched, _no_publish,
    django_capture_on_commit_callbacks,
):
    batch = campaign(account_a, jobs=6)
    failed = batch.jobs.get(status=Job.Status.FAILED, last_error=outcomes.FAIL_MAX_ATTEMPTS)
    dnc = batch.jobs.get(status=Job.Status.FAILED, last_error=outcomes.FAIL_DO_NOT_CALL)
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        response = act(admin_client, "retry_failed_selected", [batch])
    assert "1 failed job will be tried again" in response.content.decode()
    failed.refresh_from_db()
    assert failed.status == Job.Status.PENDING
    assert failed.attempts == 0 and failed.last_error == ""
    assert before <= failed.next_try_at <= timezone.now()
    assert failed.events.filter(kind="retried").exists()
    dnc.refresh_from_db()
    assert dnc.status == Job.Status.FAILED  # asked not to be called: never retried
    event = batch.events.get(kind=BatchEvent.Kind.RETRIED)
    assert event.user == operator and event.data["jobs_retried"] == 1
    assert dispatched == [account_a.pk]  # after commit, through dispatch_account
    assert failed.pk in _no_publish

    # History is kept: the next attempt number continues after the three made.
    assert CallAttempt.objects.filter(job=failed).count() == 3


def test_retry_reopens_a_completed_batch_and_refuses_a_cancelled_one(operator, account_a):
    batch = campaign(account_a, jobs=2)
    Job.objects.filter(batch=batch).exclude(status=Job.Status.FAILED).update(status=Job.Status.DONE)
    Batch.objects.filter(pk=batch.pk).update(
        status=Batch.Status.COMPLETED, completed_at=timezone.now()
    )
    batch.refresh_from_db()
    assert operations.job_retry_failed(batch=batch, user=operator) == 1
    assert (batch.status, batch.completed_at) == (Batch.Status.RUNNING, None)
    assert operations.job_retry_failed(batch=batch, user=operator) == 0

    Batch.objects.filter(pk=batch.pk).update(status=Batch.Status.CANCELLED)
    batch.refresh_from_db()
    with pytest.raises(operations.BatchError):
        operations.job_retry_failed(batch=batch, user=operator)


def test_the_batch_page_buttons(admin_client, operator, account_a):
    batch = campaign(account_a)
    page = admin_client.get(change_url(batch)).content.decode()
    for name in ("pause", "retry", "cancel"):
        assert f'data-operation="{name}"' in page
    assert 'data-operation="resume"' not in page
    url = reverse("admin:batches_batch_operate", args=[batch.pk, "pause"])
    assert admin_client.get(url).status_code == 405
    response = admin_client.post(url, follow=True)
    assert "Campaign paused" in response.content.decode()
    batch.refresh_from_db()
    assert not batch.is_active
    assert 'data-operation="resume"' in response.content.decode()
    admin_client.post(reverse("admin:batches_batch_operate", args=[batch.pk, "resume"]))
    batch.refresh_from_db()
    assert batch.is_active and batch.status == Batch.Status.RUNNING
    assert (
        admin_client.post(
            reverse("admin:batches_batch_operate", args=[batch.pk, "explode"])
        ).status_code
        == 404
    )
    kinds = list(batch.events.order_by("id").values_list("kind", flat=True))
    assert kinds == [BatchEvent.Kind.PAUSED, BatchEvent.Kind.RESUMED]


def test_the_live_progress_endpoint(admin_client, account_a):
    batch = campaign(account_a)
    data = admin_client.get(reverse("admin:batches_batch_progress", args=[batch.pk])).json()
    assert data["counts"] == {
        "pending": 2,
        "in_progress": 1,
        "done": 1,
        "failed": 2,
        "cancelled": 0,
    }
    assert data["calls_in_flight"] == 1
    assert 'class="cc-progress"' in data["html"]
    assert (
        admin_client.get(reverse("admin:batches_batch_progress", args=[999999])).status_code == 404
    )


# --- Editing settings through the services ------------------------------------------------------


def _change_form(admin_client, batch, **changes):
    response = admin_client.get(change_url(batch))
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is None:
            value = ""
        if name == "allowed_start" or name == "allowed_end":
            value = value or ""
        data[name] = value
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for name in formset.management_form.fields:
            data[f"{formset.prefix}-{name}"] = formset.management_form.initial.get(name, 0)
    data.update(changes)
    return admin_client.post(change_url(batch), data, follow=True)


def test_call_settings_are_edited_through_the_service(admin_client, operator, account_a):
    batch = campaign(account_a)
    response = _change_form(
        admin_client,
        batch,
        max_attempts=5,
        allowed_start="09:00",
        allowed_end="18:30",
        days_of_week=["1", "2", "3"],
        name="Cartera renombrada",
    )
    assert response.status_code == 200
    batch.refresh_from_db()
    assert batch.call_settings["max_attempts"] == 5
    assert batch.call_settings["allowed_hours"] == {"start": "09:00", "end": "18:30"}
    assert batch.call_settings["days_of_week"] == [1, 2, 3]
    assert batch.name == "Cartera renombrada"
    kinds = set(batch.events.values_list("kind", flat=True))
    assert kinds == {BatchEvent.Kind.SETTINGS_CHANGED}
    assert batch.events.filter(user=operator).count() == 2  # details, then call settings


def test_invalid_call_settings_are_refused_with_the_api_rules(admin_client, account_a):
    batch = campaign(account_a)
    before = dict(batch.call_settings)
    response = _change_form(admin_client, batch, max_attempts=50)
    assert response.context["adminform"].form.errors["max_attempts"]
    response = _change_form(admin_client, batch, allowed_start="18:00", allowed_end="09:00")
    assert "Must be later than the start time." in str(
        response.context["adminform"].form.errors["allowed_end"]
    )
    response = _change_form(admin_client, batch, timezone="Mars/Olympus")
    assert response.context["adminform"].form.errors["timezone"]
    # The account's compliance profile narrows the window (CL: 08:00-20:00).
    account_a.compliance_profile = "CL"
    account_a.save()
    response = _change_form(admin_client, batch, allowed_start="21:00", allowed_end="22:00")
    assert "compliance profile" in str(response.context["adminform"].form.errors)
    batch.refresh_from_db()
    assert batch.call_settings == before
    assert not batch.events.exists()


def test_a_finished_batch_is_read_only(admin_client, account_a):
    batch = campaign(account_a, status=Batch.Status.CANCELLED)
    response = admin_client.get(change_url(batch))
    assert "max_attempts" not in response.context["adminform"].form.fields
    assert 'data-operation="' not in response.content.decode()
    admin_client.post(change_url(batch), {"name": "x"})
    batch.refresh_from_db()
    assert batch.name != "x"


# --- Creating a campaign from Excel --------------------------------------------------------------


def _settings_fields(**extra):
    return {
        "max_attempts": "3",
        "retry_delay_hours": "24",
        "allowed_start": "09:00",
        "allowed_end": "19:00",
        "days_of_week": ["1", "2", "3", "4", "5"],
        "ring_timeout": "45",
        "max_call_duration": "300",
        "priority": "high",
        "timezone": "",
        **extra,
    }


def test_create_a_campaign_from_the_dirty_sample(
    funded_a, admin_client, operator, account_a, _uploads, dispatched,
    django_capture_on_commit_callbacks,
):
    url = reverse("admin:batches_batch_create_from_excel")
    page = admin_client.get(url)
    assert page.status_code == 200
    with open(SAMPLE, "rb") as handle:
        preview = admin_client.post(
            url,
            {
                "account": account_a.pk,
                "name": "Cartera sucia",
                "file": handle,
                **_settings_fields(),
            },
        )
    assert preview.status_code == 200
    html = preview.content.decode()
    assert preview.context["step"] == 2
    data = preview.context["preview"]
    assert (data["total_rows"], data["invalid_rows"], data["total_jobs"]) == (46, 2, 43)
    assert data["rows_with_errors"] == [44, 47]  # 43, a wrong check digit, is a warning
    for row in (44, 47):
        assert f'data-row="{row}"' in html
    assert "Invalid phone number" in html and "Teléfono" in html
    assert html.count("<tr><td>") >= 20  # first 20 contacts (and warnings)
    stored = list(_uploads.all())
    assert len(stored) == 1 and stored[0].token == data["token"]
    assert stored[0].user == operator and stored[0].suffix == ".xlsx"
    assert stored[0].size == SAMPLE.stat().st_size
    assert not Batch.objects.exists()

    form = preview.context["form"]
    post = {name: form[name].value() for name in form.fields}
    post["days_of_week"] = [str(d) for d in post["days_of_week"]]
    post["allowed_start"], post["allowed_end"] = "09:00", "19:00"
    post["confirm"] = "1"
    with django_capture_on_commit_callbacks(execute=True):
        done = admin_client.post(url, post)
    batch = Batch.objects.get()
    assert done.status_code == 302 and done["Location"] == change_url(batch)
    assert batch.jobs.count() == 43 and batch.total_jobs == 43
    assert (batch.account, batch.created_by, batch.name) == (account_a, operator, "Cartera sucia")
    assert batch.invalid_rows == 2
    assert batch.call_settings["allowed_hours"] == {"start": "09:00", "end": "19:00"}
    assert batch.call_settings["max_attempts"] == 3
    assert batch.call_settings["ring_timeout"] == 45
    assert batch.priority == "high"
    assert batch.events.get().kind == BatchEvent.Kind.CREATED
    assert not _uploads.exists()  # the kept file is gone
    assert not PendingUploadChunk.objects.exists()
    assert dispatched == [account_a.pk]  # first jobs dispatched after commit

    again = admin_client.post(url, post)  # the same token twice
    assert "expired or was already used" in again.content.decode()
    assert Batch.objects.count() == 1


def test_a_refused_confirmation_keeps_the_upload_for_another_try(admin_client, account_a, _uploads):
    url = reverse("admin:batches_batch_create_from_excel")

    def upload_and_confirm():
        with open(SAMPLE, "rb") as handle:
            preview = admin_client.post(
                url,
                {"account": account_a.pk, "name": "Cartera", "file": handle, **_settings_fields()},
            )
        form = preview.context["form"]
        post = {name: form[name].value() for name in form.fields}
        post["days_of_week"] = [str(d) for d in post["days_of_week"]]
        post["allowed_start"], post["allowed_end"] = "09:00", "19:00"
        return admin_client.post(url, post)

    assert upload_and_confirm().status_code == 302
    # The same debtors again: every one already has an open job (allow_duplicates is off).
    refused = upload_and_confirm()
    assert refused.status_code == 200
    assert "already has an open job" in refused.content.decode()
    assert Batch.objects.count() == 1
    kept = _uploads.get()  # given back, not consumed
    assert kept.claimed_at is None and kept.suffix == ".xlsx"


def test_an_upload_can_only_be_confirmed_by_its_operator(client, operator, account_a, _uploads):
    url = reverse("admin:batches_batch_create_from_excel")
    login(client, operator)
    with open(SAMPLE, "rb") as handle:
        preview = client.post(
            url, {"account": account_a.pk, "name": "Mía", "file": handle, **_settings_fields()}
        )
    token = preview.context["preview"]["token"]
    other = UserFactory(username="otra", is_staff=True, is_superuser=True)
    login(client, other)
    response = client.post(
        url, {"account": account_a.pk, "name": "Mía", "upload_token": token, **_settings_fields()}
    )
    assert "expired or was already used" in response.content.decode()
    assert not Batch.objects.exists()


def test_the_excel_form_refuses_bad_settings_and_files(admin_client, account_a, _uploads):
    url = reverse("admin:batches_batch_create_from_excel")
    with open(SAMPLE, "rb") as handle:
        response = admin_client.post(
            url,
            {
                "account": account_a.pk,
                "name": "X",
                "file": handle,
                **_settings_fields(allowed_start="19:00", allowed_end="09:00"),
            },
        )
    assert response.context["step"] == 1
    assert "Must be later than the start time." in str(response.context["form"].errors)
    response = admin_client.post(
        url,
        {
            "account": account_a.pk,
            "name": "X",
            "file": io.BytesIO(b"name,rut\nJuan,1-9\n"),
            **_settings_fields(),
        },
    )
    assert response.context["step"] == 1 and response.context["form"].errors["file"]
    assert not _uploads.exists()  # refused files are not kept
    # A token of another operator, or not a token at all, is refused.
    response = admin_client.post(
        url,
        {
            "account": account_a.pk,
            "name": "X",
            "upload_token": "../../etc/passwd",
            **_settings_fields(),
        },
    )
    assert "upload_token" in response.context["form"].errors
    assert not Batch.objects.exists()


# --- Jobs and attempts --------------------------------------------------------------------------


def test_job_search_by_rut_name_and_phone(admin_client, account_a):
    batch = BatchFactory(account=account_a)
    juan = JobFactory(
        batch=batch, rut="12345678-5", contact={"name": "Juan Pérez", "phones": ["+56912345678"]}
    )
    JobFactory(batch=batch, contact={"name": "Ana Soto", "phones": ["+56987654321"]})
    url = reverse("admin:batches_job_changelist")
    for term in ("12.345.678-5", "12345678", "pérez", "9 1234 5678", "+56912345678"):
        result = list(admin_client.get(url, {"q": term}).context["cl"].result_list)
        assert result == [juan], term


def test_job_page_shows_its_attempts_and_history(admin_client, account_a):
    batch = campaign(account_a)
    job = batch.jobs.get(status=Job.Status.DONE)
    JobEvent.objects.create(job=job, kind="done", message="#2 +56912345671: user_hangup")
    html = admin_client.get(reverse("admin:batches_job_change", args=[job.pk])).content.decode()
    assert "user_hangup" in html and "dial_no_answer" in html
    assert "https://recordings.example/" in html
    assert "Hola, ¿hablo con Juan?" in html
    assert "#2" in html


# --- Exports ------------------------------------------------------------------------------------


def _workbook(response):
    body = b"".join(response.streaming_content)
    return openpyxl.load_workbook(io.BytesIO(body))


def test_the_results_export(admin_client, account_a, django_assert_max_num_queries):
    batch = campaign(account_a, jobs=12)
    evil = JobFactory(
        batch=batch,
        contact={"name": '=HYPERLINK("http://evil.example","clic")', "phones": ["+56911111111"]},
    )
    attempt(evil, outcome=CallAttempt.Outcome.CONTACT)
    JobFactory(batch=batch, contact={"name": "@SUM(1+1)", "phones": ["+56922222222"]})
    JobFactory(batch=batch, contact={"name": "-2+3", "phones": ["+56933333333"]})
    url = reverse("admin:batches_batch_export", args=[batch.pk])
    with django_assert_max_num_queries(6):
        response = admin_client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    sheet = _workbook(response).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 1 + batch.jobs.count() == 16
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f", cell.coordinate
    by_rut = {r[0]: r for r in rows[1:]}
    assert by_rut[evil.rut][1] == '=HYPERLINK("http://evil.example","clic")'
    assert by_rut[evil.rut][3] == "Pending"
    assert {r[1] for r in rows[1:]} >= {"@SUM(1+1)", "-2+3"}
    done = batch.jobs.filter(status=Job.Status.DONE).first()
    row = by_rut[done.rut]
    assert row[2] == "+56912345671"  # phones stay text
    assert row[4] == 2 and row[5] == "user_hangup"
    assert row[8] == 190 and Decimal(str(row[9])) == Decimal("168.3334")


def test_the_api_export_is_scoped_and_authenticated(
    api_a, api_b, api_operator, anon_api, account_a
):
    batch = campaign(account_a)
    url = f"/api/v1/batches/{batch.batch_id}/export"
    audit = f"/api/v1/batches/{batch.batch_id}/export/audit"
    assert anon_api.get(url).status_code == 401
    assert anon_api.get(audit).status_code == 401
    assert api_b.get(url).status_code == 404
    assert api_b.get(audit).status_code == 404
    assert api_b.get(url).json() == {"detail": "No campaign with this id."}
    for api in (api_a, api_operator):
        response = api.get(
            url, HTTP_ACCEPT="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        assert response.status_code == 200
        assert len(list(_workbook(response).active.iter_rows())) == 7
    response = api_a.get(audit)
    assert response.status_code == 200
    book = _workbook(response)
    assert book.sheetnames == ["Campaign log", "Call attempts", "Job history"]
    assert book["Call attempts"].max_row == 1 + CallAttempt.objects.filter(batch=batch).count()


def test_the_audit_export(admin_client, operator, account_a):
    batch = campaign(account_a)
    admin_client.post(reverse("admin:batches_batch_operate", args=[batch.pk, "pause"]))
    JobEvent.objects.create(job=batch.jobs.first(), kind="waiting", message="=cmd|'/c calc'!A1")
    response = admin_client.get(reverse("admin:batches_batch_export_audit", args=[batch.pk]))
    book = _workbook(response)
    log = list(book["Campaign log"].iter_rows(values_only=True))
    assert log[1][2] == "paused" and log[1][4] == operator.username
    history = list(book["Job history"].iter_rows(values_only=True))
    assert history[-1][3] == "=cmd|'/c calc'!A1"
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            assert all(cell.data_type != "f" for cell in row)


# --- Dashboard ----------------------------------------------------------------------------------


def test_the_dashboard(admin_client, account_a, account_b):
    campaign(account_a, name="Cartera <b>A</b>")
    campaign(account_b)
    old = campaign(account_b, status=Batch.Status.COMPLETED)
    Batch.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=30))
    page = admin_client.get(reverse("admin:calls_dashboard"))
    html = page.content.decode()
    assert "<svg" in html and "Cartera &lt;b&gt;A&lt;/b&gt;" in html
    assert "<b>A</b>" not in html
    assert re.search(r"https?://(?!www\.w3\.org)[^\"']+\.js", html) is None  # no CDN
    data = admin_client.get(reverse("admin:calls_dashboard_data")).json()
    # Three campaigns of 6 calls each today (5 ended: 1 contact, 4 no contact; 1 live).
    assert data["calls_today"] == 18
    assert data["in_flight"] == 3
    assert data["contact_rate_today"] == 20.0
    assert Decimal(data["spend_today"]) == Decimal("84.1667") * 15
    assert len(data["batches"]) == 2  # the old completed campaign is left out
    assert "<svg" in data["html"]
    index = admin_client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:calls_dashboard_data") in index


def test_the_admin_assets_are_served_locally():
    for name in ("admin/callcenter/live.js", "admin/callcenter/callcenter.css"):
        assert finders.find(name), f"{name}: add BASE_DIR / 'static' to STATICFILES_DIRS"


def test_factories_helper_sanity(account_a):
    # Guards the data the other tests rely on.
    batch = campaign(account_a, jobs=6)
    assert AccountFactory._meta.model.objects.count() >= 1
    statuses = sorted(batch.jobs.values_list("status", flat=True))
    assert statuses == ["done", "failed", "failed", "in_progress", "pending", "pending"]


def test_the_confirmation_needs_nothing_from_the_preview_servers_disk(
    funded_a, admin_client, account_a, _uploads, dispatched, tmp_path, monkeypatch,
):
    """Issue 18: with several web servers, the confirmation may reach another one than the
    preview did. The upload is kept in the database: confirmed with an empty temporary
    folder (another server's), the campaign is created."""
    url = reverse("admin:batches_batch_create_from_excel")
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "preview-server"))
    (tmp_path / "preview-server").mkdir()
    with open(SAMPLE, "rb") as handle:
        preview = admin_client.post(
            url, {"account": account_a.pk, "name": "Otra", "file": handle, **_settings_fields()})
    assert preview.context["step"] == 2
    assert not list((tmp_path / "preview-server").iterdir())  # nothing left on its disk
    other = tmp_path / "confirmation-server"
    other.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(other))
    form = preview.context["form"]
    post = {name: form[name].value() for name in form.fields}
    post["days_of_week"] = [str(d) for d in post["days_of_week"]]
    post["allowed_start"], post["allowed_end"] = "09:00", "19:00"
    done = admin_client.post(url, post)
    assert done.status_code == 302
    assert Batch.objects.get().jobs.count() == 43
    assert not _uploads.exists() and not list(other.iterdir())
