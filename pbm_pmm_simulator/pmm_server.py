"""The simulated PMM Server; it lives in the `pmm` subpackage, this module keeps the short import path."""

from .pmm import AGENT_STATUSES, APIError, Fault, RecordedRequest, Response, SimPMMServer, omit_empty

__all__ = ["AGENT_STATUSES", "APIError", "Fault", "RecordedRequest", "Response", "SimPMMServer", "omit_empty"]
