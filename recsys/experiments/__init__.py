"""Online experiments: definitions, who gets which variant, what counts as a click, the
statistics of a comparison, and the decision it supports. Plain modules: the API, the
pipeline and the benchmarks use the same rules."""
