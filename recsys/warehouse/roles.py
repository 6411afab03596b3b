"""The roles a published version serves in.

`champion` is what every user gets. The experiments issue adds `challenger`, served beside the
champion to a share of users; publication, the readers' marker, the API's polling and pruning
all speak of roles, so a second served version is a new role, not a second code path.
"""

CHAMPION = "champion"
