"""The batches REST API (``/api/v1/batches``): thin views over services and selectors.

By concern: ``campaigns`` (list, create from JSON, detail, edit, cancel, status, logs),
``excel`` (preview and create from a spreadsheet), ``jobs`` (a campaign's jobs), ``exports``
(.xlsx downloads); ``base`` holds the view class and helpers they share, ``schema`` the
OpenAPI parameters, responses and examples.

Scoping: operators (staff) see every account's batches, each operation needing its Django
permission as in the admin (``accounts.permissions.ModelPermissions``: view for reads, add
for creations and the Excel preview, change for pause, resume, edits and cancel; 403
otherwise); a client user reads and runs only its account's campaigns.
Another tenant's batch answers 404; an ``account_id`` (body or query) the user cannot use
answers 400 ``{"account_id": ["Unknown account."]}``, the same as an unknown one, so nothing
leaks. Every error is a JSON object naming the field (``call_settings.max_attempts``,
``contacts[3].rut``, ``file``), with the spreadsheet rows in ``errors`` where rows are at fault.
"""
