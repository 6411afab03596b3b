"""Training a model: the family records, the search over them that picks the champion, and
generating every user's list from it. The models themselves are `recsys.models` (and the
two-stage `recsys.ranking`); how they are scored and published, `recsys.evaluation`."""
