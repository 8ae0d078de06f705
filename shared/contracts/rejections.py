"""``<service>.event_rejected``: a consuming service refused an event for good.

Published (through the service's outbox) when a handler fails for a reason that will not pass
by itself: the envelope or payload breaks its contract, or the service's rules refuse it (an
account or meter the registry lacks...). The message itself waits in the handler's dead-letter
queue for an operator. A transient failure (a database or a service down) that exhausted its
retries is parked too but not "rejected": it can be replayed as it is once the cause is fixed.
"""
from marshmallow import Schema, fields, validate

from shared.errors import ALL
from shared.events import contract

# Every service that consumes events (a @reliable_event_handler) announces its refusals.
CONSUMERS = ("accounts", "documents", "payments", "readings", "requests")
CODES = ("invalid_event", "internal_error", *(error.code for error in ALL))


class EventRejected(Schema):
    rejected_event_id = fields.String(allow_none=True, required=True,
                                      validate=validate.Length(max=100), metadata={
                                          "description": "The refused envelope's id (null if "
                                                         "it had none)"})
    producer = fields.String(required=True, metadata={
        "description": "Whose exchange it came from: <producer>.events"})
    event_type = fields.String(required=True, metadata={"description": "Its routing key"})
    code = fields.String(required=True, validate=validate.OneOf(CODES), metadata={
        "description": "invalid_event: breaks its published schema; a domain error's code "
                       "(not_found, validation_failed, ...): the service's rules refused it; "
                       "internal_error: the portal's own fault"})
    reason = fields.String(required=True, metadata={"description": "Why, in Russian"})
    # "fields" on the wire; the attribute may not be named so (Schema.fields is taken)
    fields_ = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                          data_key="fields", metadata={
                              "description": "Field path → what is wrong with it, e.g. "
                                             "{\"payload.number\": \"5 to 20 digits\"}"})
    dead_letter_queue = fields.String(required=True, metadata={
        "description": "Where the message waits for an operator's replay"})
    rejected_at = fields.AwareDateTime(required=True)


def _register(producer: str) -> None:
    doc = (f"The {producer} service refused an event for good (it breaks its contract, or "
           "the service's rules refuse it): which one, why, and which fields; the message "
           "waits in the dead-letter queue. Not sent for a transient failure.")
    schema = type(f"{producer.title()}EventRejected", (EventRejected,),
                  {"__doc__": doc, "__module__": __name__})
    contract(producer, "event_rejected")(schema)


for _producer in CONSUMERS:
    _register(_producer)
