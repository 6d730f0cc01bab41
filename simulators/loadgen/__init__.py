"""The trading-app load generator behind ``ordergate loadtest``.

``profiles`` (pure: what request k is and when it is due), ``driver`` (I/O: the open-loop HTTP/1.1
pipelining client), ``report`` (pure: percentiles, the table, the JSON) and ``cli``.
"""
