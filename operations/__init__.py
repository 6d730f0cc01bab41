"""Operator tools and services built on the core: ``ordergate up`` (the whole stack on one
machine, its supervisor and demo: ``stack/``), the S3 audit archiver (``ordergate archive``) and
an order's trail on the command line (``ordergate trail``). They import ``gateway`` only; the
stack starts the other components as ``ordergate`` subprocesses, never by import."""
