"""Benchmarks of the web tier (`arrears bench ws`)."""
