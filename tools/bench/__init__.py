"""``make bench``: speed and memory figures, each a ratio to a floor measured in the same run.

- ``authorizer``: the authorizer as a deployed function runs it (``lambda_env``), warm
  (``timing``'s interleaved rounds) and cold (``cold``, ``cold_child``), and its memory
  (``memory``);
- ``broker``: the broker's cache hit and its identity-provider calls;
- ``fleet``: broker environments sharing the DynamoDB token cache;
- ``load``: a load run through the local stack of ``make run``.
"""
