"""ClickHouse: the schema, source tables, derived tables, published versions, faults."""
