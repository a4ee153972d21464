"""What scopegate's two functions share: the authorizer and the token broker each build on
this package and never on each other.

One module per concern: ``errors`` (the root of a document's problems), ``documents``
(JSON or YAML text to plain values), ``urls`` (https, except on loopback hosts), ``aws``
(AWS clients bounded to seconds),
``sources`` (where a configuration document comes from: an environment variable, a file
or an SSM parameter), ``observability`` (the lean log formatter, the one line per
request, decision counts as EMF) and ``function_log`` (a function's logger, metrics and
the one report of a broken configuration, set up the same way in each handler).

Importing this package (or any module in it) does no I/O.
"""
