"""Events from a stream (Kafka): decoding messages into events and dead letters, and the
consumer that stores them exactly once in effect."""
