"""Progress lines: done of total, the rate, throttled, and always the last one."""

from recsys_assets.progress import Progress


def test_progress_logs_counts_and_rate_throttled_but_always_at_the_end():
    lines: list[str] = []
    progress = Progress(lines.append, "user_recommendations", total=300, unit="users")
    progress(100, "bucket 1/3 written")
    progress(200)  # within the throttle window: not logged
    progress(300, "bucket 3/3 written")  # done: always logged
    assert len(lines) == 2
    assert lines[0].startswith("user_recommendations: 100/300 users (")
    assert "users/s); bucket 1/3 written" in lines[0]
    assert lines[1].startswith("user_recommendations: 300/300 users (")


def test_progress_without_a_total_counts_up():
    lines: list[str] = []
    progress = Progress(lines.append, "events", unit="events", every_seconds=0)
    progress(200_000)
    progress(400_000)
    assert [line.split(" (")[0] for line in lines] == [
        "events: 200,000 events",
        "events: 400,000 events",
    ]


def test_slow_rates_keep_their_decimals():
    lines: list[str] = []
    progress = Progress(lines.append, "ALS fit", total=24, unit="iterations")
    progress.started -= 10.0  # as if the first sweep took ten seconds
    progress(1)
    assert "(0.1 iterations/s)" in lines[0]
