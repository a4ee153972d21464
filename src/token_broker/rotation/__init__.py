"""Rotation of the broker's client secrets at the identity provider (Secrets Manager's
four steps). Entry point: ``token_broker.rotation.lambda_handler``."""

from token_broker.rotation.handler import lambda_handler

__all__ = ["lambda_handler"]
