"""Why a job waits or failed: the reasons stored in ``Job.last_error``.

The engine writes them; ``batches`` reads them too (retrying failed jobs skips those that would
fail again at once), so they live in the lowest app that stores them.
"""

WAIT_PAUSED = "campaña pausada"
WAIT_SCHEDULED = "campaña programada"
WAIT_ACCOUNT = "cuenta suspendida"
WAIT_WINDOW = "fuera de horario permitido"
WAIT_WEEKLY_CONTACT = "contactado en los últimos 7 días"
WAIT_WEEKLY_ATTEMPTS = "máximo de intentos semanales"
WAIT_BALANCE = "saldo insuficiente"
WAIT_SLOT = "esperando cupo de llamadas"
WAIT_PROVIDER = "error del proveedor, reintento"
FAIL_MAX_ATTEMPTS = "máximo de intentos"
FAIL_NO_PHONE = "sin teléfono válido"
FAIL_DO_NOT_CALL = "en lista de no llamar"
FAIL_SETTINGS = "configuración de horario inválida"
CANCELLED = "campaña cancelada"
