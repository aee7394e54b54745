"""Multimodal Pipeline: the code that runs in the Lambda functions (and, unchanged, in local mode)."""
