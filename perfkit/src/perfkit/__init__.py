"""perfkit: the shared performance harness."""
