"""Exchange simulator: a FIX 4.4 acceptor over a TSE-rules matching engine, with ops control."""
