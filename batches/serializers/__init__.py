"""API input and output shapes for batches, by concern: ``fields`` (shared input fields and
the error flattening), ``contacts`` (the debtors of the JSON form), ``requests`` (request
bodies and query strings) and ``responses``.

Input serializers check types and shapes; a debtor of the right shape then goes through the
debtor normaliser the Excel reader uses (``batches.debtors``). The rules of a batch (call
settings, schedule, duplicates) live in ``batches.services``. Errors are flattened to dotted
names: ``contacts[3].rut``, ``call_settings.max_attempts``, ``voice_settings.speed``.
"""
