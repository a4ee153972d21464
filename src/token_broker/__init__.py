"""scopegate's token broker: ECS tasks, identified by their SigV4-signed calls, get
OAuth 2.0 client-credentials tokens for the grants the configuration gives their task
role (``token_broker.handler``); the rotation function (``token_broker.rotation``)
rotates the client secrets at the identity provider; ``token_broker.client`` is what
tasks install (the ``scopegate-client`` wheel) and imports nothing else of this package.

Importing this package (or any module in it) does no I/O.
"""
