"""The pure core: cases, stages, deadlines, policies, working days and commands (no I/O)."""
