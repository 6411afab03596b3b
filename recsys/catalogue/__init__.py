"""The catalogue as a living thing: item payloads, their lifecycle, and when an item may show."""
