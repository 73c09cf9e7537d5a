"""A local simulator of Retell AI's phone-call API, for tests and development.

Stdlib only (no Django, nothing of the engine): the engine talks to it through the real
``retell`` SDK, as it talks to Retell. The API it serves is documented in
:mod:`retell_sim.server`; ``python -m retell_sim --help`` runs it stand-alone.
"""

from retell_sim.server import RetellSimulator
from retell_sim.workers import sign

__all__ = ["RetellSimulator", "sign"]
