"""Debtors: their shape, the one normaliser and the one merger of JSON contacts and Excel rows.

``shape.Debtor`` is what both roads give the batch service; ``normalize.debtor_normalize``
turns a raw mapping (a JSON contact, a spreadsheet row read by column) into one, or into the
problems found; ``merge`` folds the same RUT into one debtor. The field parsers (``rut``,
``phones``, ``values``, ``text``) are pure functions shared by both roads and the admin.
"""
