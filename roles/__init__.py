"""Process roles and the composition root: where settings become engines, clients and adapters."""
