"""Local mode: the synthesized pipeline, run offline in an in-process AWS emulation (moto)."""
