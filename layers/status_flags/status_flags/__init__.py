"""Shared code of the status flags service: models, transition rules and DynamoDB repositories."""
