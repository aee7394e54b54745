"""One construct per business concern; stacks/pipeline_stack.py composes them.

Why, and which states and resources each owns: docs/decision_log.md.
"""
