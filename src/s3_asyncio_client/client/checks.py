"""The checks the client makes on names, for callers that want them before a request:
each returns its argument, or raises S3InvalidRequestError naming the value."""

from __future__ import annotations

from ..protocol import limits, preconditions
from ..transport.errors import maps_protocol_errors

__all__ = ["check_bucket", "check_conditions", "check_key", "check_part_number"]

check_bucket = maps_protocol_errors(limits.check_bucket)
check_key = maps_protocol_errors(limits.check_key)
check_part_number = maps_protocol_errors(limits.check_part_number)
# if_none_match / if_match: the headers they stand for
check_conditions = maps_protocol_errors(preconditions.write_conditions)
