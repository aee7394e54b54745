"""IAM as AWS enforces it, for local mode: every request is signed by a principal (a role of
the synthesized stack, or the local operator), and the emulated services refuse what that
principal's policies do not allow, with the error and message AWS would return."""
