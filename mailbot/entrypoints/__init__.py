"""The command line and the scheduled worker: the only places that exit or read the environment."""
