"""Does the online loop measure what is true? Synthetic users with known tastes browse the real
API, click by their true preference and the position, and the real `experiment_results` asset
measures the experiment.

    python -m benchmarks.online_simulation               # about 6 minutes here
    python -m benchmarks.online_simulation --users 6000 --sessions 3

The synthetic world (recsys.data.synthetic) gives every user a taste over genres; the pipeline
trains on that world's events and the API serves it. A simulated user sees a list of 10 and
clicks item i at position p with probability `BASE * affinity(user, i) / p ** 0.5` (affinity: the
generator's own, 0..1), then watches it through with probability 0.3 + 0.6 * affinity; events
go back through `POST /events` with the list's request_id. Two experiments in turn:
1. the champion against the trending list (a control that ignores the user);
2. the champion against a deliberately degraded policy on it: half the slots to rarely shown
   items (exploration 0.5).
For each: the true CTR of each variant (the expected clicks of the lists actually served, from
the click model, not the clicks drawn), the measured CTR and lift with its 95% interval, the
impressions it took to reach significance, and the A/A false-positive rate over 200 seeded
random splits of one variant's users (the statistics repeated offline on recorded impressions).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
from fastapi.testclient import TestClient
from tqdm import tqdm

from recsys.data.synthetic import GENRES, SyntheticConfig, SyntheticWorld
from recsys.experiments import store
from recsys.experiments.analysis import analyse
from recsys.experiments.attribution import outcomes_by_user
from recsys.settings import Settings
from serving.app import create_app

BASE = 0.35  # click probability of a perfect match at the top
ADMIN = {"Authorization": "Bearer simulation"}
BUDGET = {"ops": {"model_selection": {"config": {"budget": {"als": 2, "ease": 1, "item_knn": 1}}}}}
EXPERIMENTS = {
    "champion-vs-trending": [
        {"name": "champion", "role": "champion"},
        {"name": "trending", "list": "trending"},
    ],
    "champion-vs-degraded": [
        {"name": "champion", "role": "champion"},
        {"name": "degraded", "exploration": 0.5},
    ],
}


def publish(settings: Settings) -> None:
    from recsys_assets.definitions import all_assets, all_checks
    from recsys_assets.resources import build_resources

    started = time.perf_counter()
    pipeline = [a for a in all_assets if "experiment_results" not in str(a.keys)]
    with dg.instance_for_test(temp_dir=str(settings.dagster_home)) as instance:
        result = dg.materialize(
            [*pipeline, *all_checks],
            resources=build_resources(settings),
            instance=instance,
            run_config=BUDGET,
        )
    assert result.success
    print(f"pipeline published in {time.perf_counter() - started:.0f} s", flush=True)


class ClickModel:
    def __init__(self, world: SyntheticWorld, seed: int) -> None:
        self.world = world
        self.rng = np.random.default_rng(seed)

    def affinity(self, user: int, items: list[str]) -> np.ndarray:
        index = np.array([int(i[1:]) for i in items])
        raw = (self.world.item_genres[index] * self.world.taste[user]).sum(axis=1)
        return np.clip(raw * len(GENRES) / 3.0, 0.0, 1.0)

    def click_probability(self, user: int, items: list[str]) -> np.ndarray:
        positions = np.arange(1, len(items) + 1)
        return BASE * self.affinity(user, items) / np.sqrt(positions)


def browse(api: TestClient, clicks: ClickModel, users: int, sessions: int) -> dict[str, list]:
    """Every user browses `sessions` times; returns per variant the true click probability of
    each impression served."""
    truth: dict[str, list] = {}
    order = [(s, u) for s in range(sessions) for u in range(users)]
    for _, user in tqdm(order, desc="sessions", unit="list", mininterval=2):
        body = api.get(f"/recommendations/u{user}", params={"k": 10}).json()
        items = [item["item_id"] for item in body["items"]]
        if not items:
            continue
        probability = clicks.click_probability(user, items)
        truth.setdefault(body.get("variant", ""), []).extend(probability)
        clicked = clicks.rng.random(len(items)) < probability
        events = []
        for item, affinity in zip(
            np.array(items)[clicked], clicks.affinity(user, items)[clicked], strict=True
        ):
            event = {"user_id": f"u{user}", "item_id": item, "request_id": body["request_id"]}
            events.append({**event, "event_type": "view_start"})
            if clicks.rng.random() < 0.3 + 0.6 * affinity:
                events.append({**event, "event_type": "view_complete"})
        if events:
            api.post("/events", json={"events": events}).raise_for_status()
    return truth


def measure(settings: Settings, name: str) -> list[dict]:
    """The real asset, then its stored rows for this experiment."""
    from recsys_assets.assets.experiment_results import experiment_results
    from recsys_assets.resources import build_resources

    resources = {k: v for k, v in build_resources(settings).items() if k != "mlflow"}
    with dg.instance_for_test(temp_dir=str(settings.dagster_home)) as instance:
        assert dg.materialize([experiment_results], resources=resources, instance=instance).success
    from recsys.warehouse.connection import Warehouse

    with Warehouse.from_url(settings.warehouse_url).session() as client:
        return store.latest_results(client, name)


def significance_path(outcomes: pd.DataFrame, control: str, shares: dict) -> str:
    """Impressions (in user order) at which the comparison first reached p < 0.05 and stayed."""
    users = outcomes["user_id"].drop_duplicates().tolist()
    path = []
    for fraction in np.linspace(0.05, 1.0, 20):
        chosen = set(users[: max(4, int(len(users) * fraction))])
        part = outcomes[outcomes["user_id"].isin(chosen)]
        other = next(v for v in shares if v != control)
        p = analyse("path", part, control, shares).variant(other).p_value
        path.append((int(part["impressions"].sum()), p))
    since = None
    for impressions, p in path:
        since = impressions if p is not None and p < 0.05 and since is None else since
        if p is None or p >= 0.05:
            since = None
    return f"{since:,} impressions" if since else "not reached"


def a_a_rate(outcomes: pd.DataFrame, variant: str, repeats: int = 200) -> float:
    mine = outcomes[outcomes["variant"] == variant].copy()
    per_user = mine.groupby("user_id", as_index=False)[["impressions", "clicks", "conversions"]]
    frame = per_user.sum().assign(model_version="all")
    significant = 0
    for seed in range(repeats):
        rng = np.random.default_rng(seed)
        split = frame.assign(variant=np.where(rng.random(len(frame)) < 0.5, "a", "b"))
        result = analyse("aa", split, "a", {"a": 0.5, "b": 0.5}).variant("b")
        significant += result.p_value is not None and result.p_value < 0.05
    return significant / repeats


def run(settings: Settings, world: SyntheticWorld, users: int, sessions: int) -> None:
    with TestClient(create_app(settings)) as api:
        for number, (name, variants) in enumerate(EXPERIMENTS.items()):
            definition = {"variants": variants, "min_users": 100}
            api.put(f"/experiments/{name}", json=definition, headers=ADMIN).raise_for_status()
            truth = browse(api, ClickModel(world, seed=number), users, sessions)
            api.app.state.serving.online.impressions.flush()
            rows = measure(settings, name)
            with api.app.state.serving.warehouse.session() as client:
                outcomes = outcomes_by_user(
                    client, name, pd.Timestamp(0, tz="UTC"), settings.attribution_hours
                )
            report(name, variants, truth, rows, outcomes)
            if number < len(EXPERIMENTS) - 1:  # one running experiment at a time
                api.delete(f"/experiments/{name}", headers=ADMIN).raise_for_status()


def report(name, variants, truth, rows, outcomes) -> None:
    control, other = variants[0]["name"], variants[1]["name"]
    true_ctr = {v: float(np.mean(p)) for v, p in truth.items()}
    measured = {r["variant"]: r for r in rows if r["model_version"] == ""}
    m = measured[other]
    shares = {control: 0.5, other: 0.5}
    print(f"\n{name}: {m['users'] + measured[control]['users']:,} users, "
          f"{m['impressions'] + measured[control]['impressions']:,} impressions")  # fmt: skip
    for variant in (control, other):
        r = measured[variant]
        print(
            f"  {variant:>10}: true CTR {true_ctr[variant]:.4f}, measured {r['ctr']:.4f} "
            f"(95% CI {r['ctr_low']:.4f} to {r['ctr_high']:.4f}), {r['users']:,} users"
        )
    true_lift = true_ctr[other] / true_ctr[control] - 1
    print(
        f"  lift of {other}: true {true_lift:+.1%}, measured {m['lift']:+.1%} "
        f"(95% CI {m['lift_low']:+.1%} to {m['lift_high']:+.1%}), p = {m['p_value']:.2g}, "
        f"sample ratio p = {m['srm_p_value']:.2f}"
    )
    print(f"  significant (p < 0.05) from: {significance_path(outcomes, control, shares)}")
    print(f"  A/A false positives at alpha 0.05 over 200 splits of {control}'s users: "
          f"{a_a_rate(outcomes, control):.1%}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=3000)
    parser.add_argument("--sessions", type=int, default=2)
    parser.add_argument(
        "--events-per-user", type=int, default=150, help="history the models learn tastes from"
    )
    parser.add_argument("--keep", type=Path, help="simulate in this folder and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(
            home=args.keep or Path(scratch),
            dataset="synthetic",
            synthetic_users=args.users,
            synthetic_items=600,
            synthetic_events=args.users * args.events_per_user,
            synthetic_seed=11,
            admin_token="simulation",
            mlflow_tracking_uri=None,
        )
        settings.dagster_home.mkdir(parents=True)
        publish(settings)
        world = SyntheticWorld(
            SyntheticConfig(
                users=settings.synthetic_users,
                items=settings.synthetic_items,
                events=settings.synthetic_events,
                seed=settings.synthetic_seed,
            )
        )
        run(settings, world, args.users, args.sessions)


if __name__ == "__main__":
    main()
