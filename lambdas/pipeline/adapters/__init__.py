"""I/O behind small interfaces. Domain code takes these as parameters; tests pass fakes,
local mode passes stand-ins, the Lambdas pass the boto3-backed defaults."""
