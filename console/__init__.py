"""``ordergate console``: the operations console in the browser (stateless, imports only
``gateway``; reads Redis and calls the simulators' control APIs over HTTP)."""
