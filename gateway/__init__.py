"""ordergate core shared by every process: order model, state machine, wire codec, key layout,
Lua scripts, venue rules, reference data, config. No HTTP and no FIX in here."""
