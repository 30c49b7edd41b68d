"""Conversations that outlive the kernel: provenance records in saved outputs, resume from a
notebook, conversation files. Sits after `run` (it reads replies and rebuilds them); front
ends use it."""
