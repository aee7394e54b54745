"""Work files: what one step writes to the processed bucket for a later step (or a person) to
read. The state carries their URIs, never their bodies (Step Functions caps a state at 256 KB).
"""
