"""The exchange simulator: a pure matching engine with TSE rules and market phases
(:mod:`.engine`), and the FIX acceptor process with its control API built on it."""
