"""One router per domain; thin: parse, authorize through the service, shape the answer."""
