"""One construct per concern; the stack in stacks/pipeline_stack.py composes them."""
