"""Alerting in the worker: the dispatcher that sends deliveries (the outbox rows the incidents
trigger writes), the messages it sends and one sender per channel kind."""
