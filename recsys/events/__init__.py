"""An event: its vocabulary (types, columns), its shape as clients send it, the rule that makes
it valid, and ids as exact strings."""
