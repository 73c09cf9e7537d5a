"""The project package. It loads nothing on import: importing it must not choose a settings
module (``callcenter.wsgi`` sets production's default after this file runs), so the Celery
app is loaded by the calls app once Django is set up (``calls.apps``), or by ``celery -A``."""
