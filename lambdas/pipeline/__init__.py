"""Multimodal Pipeline: the Lambda functions' code (and, unchanged, local mode's)."""
