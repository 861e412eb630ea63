"""The test stand's shared parts: the worker side, settings and clocks, assembled as the roles do."""
