"""The roles a published version serves in.

`champion` is what every user gets unless an experiment says otherwise; `challenger` is served
beside it to the users an experiment assigns to it. Publication, the readers' marker, the API's
polling and pruning all speak of roles, so a second served version is a new role, not a second
code path.
"""

CHAMPION = "champion"
CHALLENGER = "challenger"
ROLES = (CHAMPION, CHALLENGER)
