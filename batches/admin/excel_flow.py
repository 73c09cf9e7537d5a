"""Creating a campaign from an Excel file: upload and preview, then confirm
(``batches.services.batch_create_from_excel``)."""

from __future__ import annotations

import re
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.models import Account
from batches import services
from batches.admin.forms import CallSettingsForm
from batches.excel import ExcelError, read_contacts
from batches.services.uploads import CHUNK_BYTES

PREVIEW_CONTACTS = 20
UPLOAD_SUFFIXES = (".xlsx", ".xls", ".ods")
_TOKEN = re.compile(r"[0-9a-f]{32}")


class ExcelFormBase(CallSettingsForm):
    account = forms.ModelChoiceField(
        label=_("Account"),
        queryset=Account.objects.filter(status=Account.Status.ACTIVE).order_by("account_name"),
    )
    name = forms.CharField(label=_("Campaign name"), max_length=200)

    field_order = ["account", "name", "file", *CallSettingsForm.SETTINGS_FIELDS]

    def clean(self):
        cleaned = super().clean()
        account = cleaned.get("account")
        if account is None or self.errors:
            return cleaned
        try:
            services.batch_options_clean(
                account=account,
                name=cleaned.get("name", ""),
                call_settings=self.call_settings_data(),
            )
        except services.BatchError as exc:
            self.add_service_errors(exc.errors)
        return cleaned


class ExcelUploadForm(ExcelFormBase):
    file = forms.FileField(
        label=_("Excel file"),
        help_text=_(".xlsx, .xls or .ods with one debtor per row (RUT, name, phones, ...)."),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(UPLOAD_SUFFIXES)}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.EXCEL_MAX_BYTES:
            raise forms.ValidationError(
                _("The file is larger than the %(limit)s MB limit.")
                % {"limit": round(settings.EXCEL_MAX_BYTES / 1048576, 1)}
            )
        return upload


class ExcelConfirmForm(ExcelFormBase):
    upload_token = forms.CharField(widget=forms.HiddenInput, max_length=32)

    def clean_upload_token(self):
        token = self.cleaned_data["upload_token"]
        if not _TOKEN.fullmatch(token):
            raise forms.ValidationError(_("Invalid upload."))
        return token


def _upload_source(upload):
    """What read_contacts reads: the temporary file's path for large uploads (read once, from
    disk), else the in-memory upload itself (at most FILE_UPLOAD_MAX_MEMORY_SIZE)."""
    if hasattr(upload, "temporary_file_path"):
        return upload.temporary_file_path()
    return upload


def _store_upload(request, upload) -> str:
    """Keep the upload until its confirmation, in the database (any web server may receive
    the confirmation), for this operator only; its token."""
    suffix = Path(upload.name or "").suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        suffix = ".xlsx"
    return services.upload_store(user=request.user, suffix=suffix,
                                 chunks=upload.chunks(CHUNK_BYTES))


def _excel_preview(request, form: ExcelUploadForm) -> dict | None:
    """Read the upload as the creation will; None (with the error on the form) if unusable."""
    upload = form.cleaned_data["file"]
    try:
        parsed = read_contacts(
            _upload_source(upload), max_rows=settings.EXCEL_MAX_ROWS,
            max_bytes=settings.EXCEL_MAX_BYTES,
        )
    except ExcelError as exc:
        form.add_error("file", str(exc.message))
        return None
    if not parsed.contacts:
        form.add_error(
            "file",
            ngettext("No valid rows: the row has errors; nothing can be imported.",
                     "No valid rows: all %(count)s rows have errors; nothing can be imported.",
                     parsed.total_rows)
            % {"count": parsed.total_rows},
        )
        form.row_errors = parsed.errors
        return None
    account = form.cleaned_data["account"]
    rows_with_errors = sorted({e.get("row") for e in parsed.errors if e.get("row")})
    estimated = services.estimate_cost(
        account=account,
        jobs=len(parsed.contacts),
        max_call_duration=form.cleaned_data["max_call_duration"],
    )
    return {
        "token": _store_upload(request, upload),  # only a file that can be confirmed
        "filename": form.cleaned_data["file"].name,
        "sheet": parsed.sheet_name,
        "total_rows": parsed.total_rows,
        "valid_rows": parsed.total_rows - parsed.invalid_rows,
        "invalid_rows": parsed.invalid_rows,
        "rows_with_errors": rows_with_errors,
        "duplicates_merged": parsed.duplicates_merged,
        "total_jobs": len(parsed.contacts),
        "contacts": parsed.contacts[:PREVIEW_CONTACTS],
        "errors": parsed.errors,
        "warnings": parsed.warnings,
        "errors_truncated": parsed.errors_truncated,
        "column_mapping": parsed.column_mapping,
        "custom_columns": parsed.custom_columns,
        "estimated_cost": estimated,
        "short_of_credits": (
            account.plan_type == Account.Plan.CREDIT and account.credits < estimated
        ),
        "account": account,
    }


class ExcelCreationMixin:
    """The create-from-Excel view of ``BatchAdmin`` (a ``ModelAdmin``)."""

    # --- create from Excel ---

    def create_from_excel_view(self, request):
        if not (self.has_view_permission(request) and self.can_create(request)):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": _("Create campaign from Excel"),
            "opts": self.model._meta,
            "media": self.media,
        }
        if request.method == "POST" and request.POST.get("upload_token"):
            return self._excel_confirm(request, context)
        if request.method == "POST":
            form = ExcelUploadForm(request.POST, request.FILES)
            if form.is_valid():
                preview = _excel_preview(request, form)
                if preview is not None:
                    confirm = ExcelConfirmForm(
                        initial={
                            **{k: v for k, v in form.cleaned_data.items() if k != "file"},
                            "account": form.cleaned_data["account"].pk,
                            "upload_token": preview["token"],
                        }
                    )
                    return TemplateResponse(
                        request,
                        "admin/batches/batch/create_from_excel.html",
                        {**context, "form": confirm, "preview": preview, "step": 2},
                    )
        else:
            form = ExcelUploadForm(initial=CallSettingsForm.initial_from(None))
        return TemplateResponse(
            request,
            "admin/batches/batch/create_from_excel.html",
            {**context, "form": form, "step": 1},
        )

    def _excel_confirm(self, request, context):
        form = ExcelConfirmForm(request.POST)
        source = None
        if form.is_valid():
            source = services.upload_claim(user=request.user,
                                           token=form.cleaned_data["upload_token"])
            if source is None:
                form.add_error(
                    None, _("The uploaded file expired or was already used; upload it again.")
                )
        if form.is_valid() and source is not None:
            data = form.cleaned_data
            try:
                with services.upload_local_copy(source) as path:
                    result = services.batch_create_from_excel(
                        account=data["account"],
                        user=request.user,
                        name=data["name"],
                        source=str(path),
                        call_settings=form.call_settings_data(),
                    )
            except services.BatchError as exc:
                services.upload_release(upload=source)
                form.add_service_errors({k: v for k, v in exc.errors.items() if k != "file"})
                for message in exc.errors.get("file", []):
                    form.add_error(None, message)
            except BaseException:
                services.upload_release(upload=source)
                raise
            else:
                services.upload_delete(upload=source)
                batch = result.batch
                self.log_addition(request, batch, [{"added": {}}])
                messages.success(
                    request,
                    _(
                        "Campaign “%(name)s” created with %(jobs)s jobs from %(rows)s rows "
                        "(%(invalid)s invalid rows skipped, %(merged)s duplicates merged, "
                        "%(skipped)s already in another campaign)."
                    )
                    % {
                        "name": batch.name,
                        "jobs": result.total_jobs,
                        "rows": result.total_rows,
                        "invalid": result.invalid_rows,
                        "merged": result.duplicates_merged,
                        "skipped": result.skipped_existing,
                    },
                )
                return HttpResponseRedirect(reverse("admin:batches_batch_change", args=[batch.pk]))
        return TemplateResponse(
            request,
            "admin/batches/batch/create_from_excel.html",
            {**context, "form": form, "step": 2, "preview": None},
        )
