"""scopegate's Lambda authorizer: OIDC access-token validation and scope-to-route policies.

Importing this package (or any module in it) does no I/O.
"""
