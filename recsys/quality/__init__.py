"""Data quality: Great Expectations suites over the pipeline's tables, as plain functions."""
