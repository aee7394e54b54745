"""Pydantic models for every boundary: manifests, state payloads, results and records."""
