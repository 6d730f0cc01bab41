"""Helpers the tests share: free ports, real redis-server processes, waiting for conditions."""
