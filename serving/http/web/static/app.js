// The try-it page: a thin client of the REST API (no framework, no build step, no CDN).
//
//   pick a user ─▶ GET /recommendations/{id}?explain=true ─▶ GET /items?ids=… (titles) ─▶ cards
//   a button    ─▶ POST /events ─▶ the same GET again (fold-in) ─▶ cards, new ones marked
//   side panels: GET /users/{id}/profile, GET /model, GET /about (links), /trending, /catalog

const LIST_SIZE = 12;
const PAGE_SIZE = 12;
const MODEL_POLL_MS = 15000;
const VERBS = {
  like: "Liked",
  dislike: "Disliked",
  view_complete: "Marked as watched:",
  add_to_list: "Added to your list:",
};
const SOURCES = {
  precomputed: "the published list",
  fold_in: "scored just now from this user's newest events",
  trending: "trending (nothing personal yet)",
};

const state = {
  user: null,
  shown: [], // item ids of the recommendations on screen, to mark what is new
  modelVersion: null,
  catalog: { offset: 0, total: 0 },
};

const $ = (id) => document.getElementById(id);

async function api(path, options = {}) {
  const response = await fetch(path, options);
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
    } catch {
      // not JSON: keep the status line
    }
    const error = new Error(detail);
    error.status = response.status;
    throw error;
  }
  return response.json();
}

function say(text, isError = false) {
  const status = $("status");
  status.textContent = text;
  status.classList.toggle("error", isError);
}

async function itemsById(ids) {
  if (!ids.length) return new Map();
  const query = ids.map((id) => `ids=${encodeURIComponent(id)}`).join("&");
  const batch = await api(`/items?${query}`);
  return new Map(batch.items.map((item) => [item.item_id, item]));
}

// The item's window, when it has one: "until 31 Dec 2026", "from 1 Jan 2027".
function availability(info) {
  if (!info) return "";
  const day = (iso) =>
    new Date(iso).toLocaleDateString(undefined, { day: "numeric", month: "short", year: "numeric" });
  const parts = [];
  if (info.available_from && new Date(info.available_from) > new Date()) {
    parts.push(`from ${day(info.available_from)}`);
  }
  if (info.available_until) parts.push(`until ${day(info.available_until)}`);
  return parts.length ? `available ${parts.join(" ")}` : "";
}

function card(entry, info, { score = true, isNew = false, requestId = null } = {}) {
  const node = $("card").content.firstElementChild.cloneNode(true);
  const title = info ? info.title : entry.item_id;
  node.dataset.itemId = entry.item_id;
  node.querySelector(".title").textContent = title;
  node.querySelector(".year").textContent = info && info.year ? info.year : "";
  node.querySelector(".genres").textContent = info ? info.genres.join(" · ") : "";
  node.querySelector(".availability").textContent = availability(info);
  const scoreLine = node.querySelector(".score");
  if (score && entry.score !== undefined) {
    scoreLine.textContent = `score ${entry.score.toFixed(3)} · ${entry.source}`;
  } else {
    scoreLine.remove();
  }
  const reason = node.querySelector(".reason");
  if (entry.explanation) {
    reason.textContent = entry.explanation.reason;
  } else {
    reason.remove();
  }
  if (isNew) {
    node.classList.add("is-new");
    node.querySelector(".badge.new").hidden = false;
  }
  const actions = node.querySelector(".actions");
  actions.setAttribute("aria-label", `React to ${title}`);
  for (const button of actions.querySelectorAll("button")) {
    button.setAttribute("aria-label", `${button.textContent}: ${title}`);
    button.addEventListener("click", () =>
      react(entry.item_id, button.dataset.event, title, node, requestId),
    );
  }
  return node;
}

async function refreshRecommendations() {
  const user = state.user;
  const data = await api(
    `/recommendations/${encodeURIComponent(user)}?k=${LIST_SIZE}&explain=true`,
  );
  const info = await itemsById(data.items.map((item) => item.item_id));
  const before = new Set(state.shown);
  const fresh = state.shown.length
    ? data.items.filter((item) => !before.has(item.item_id))
    : [];
  const freshIds = new Set(fresh.map((item) => item.item_id));
  $("recommendations").replaceChildren(
    ...data.items.map((item) =>
      card(item, info.get(item.item_id), {
        isNew: freshIds.has(item.item_id),
        requestId: data.request_id,
      }),
    ),
  );
  $("recs-heading").textContent = `Recommendations for ${user}`;
  $("recs-meta").textContent =
    `model ${data.model_version} (${data.algorithm}) · source: ${data.source}, ` +
    `${SOURCES[data.source] || data.source}` +
    (data.experiment ? ` · experiment ${data.experiment}: variant ${data.variant}` : "");
  $("recs-meta").dataset.source = data.source;
  state.shown = data.items.map((item) => item.item_id);
  if (data.model_version !== state.modelVersion) await refreshModel();
  return { data, fresh };
}

async function refreshProfile() {
  const panel = $("profile");
  let profile;
  try {
    profile = await api(`/users/${encodeURIComponent(state.user)}/profile`);
  } catch (error) {
    if (error.status !== 404) throw error;
    panel.innerHTML = "";
    const note = document.createElement("p");
    note.className = "meta";
    note.textContent =
      "No events yet. React to trending or catalogue items to get personal recommendations.";
    panel.append(note);
    return;
  }
  const counts = Object.entries(profile.events_by_type)
    .map(([type, n]) => `${n} ${type}`)
    .join(", ");
  const summary = document.createElement("p");
  summary.className = "meta";
  summary.textContent = `${counts}; last active ${new Date(profile.last_activity).toLocaleString()}`;

  const genresHeading = document.createElement("h3");
  genresHeading.textContent = "Top genres";
  const bars = document.createElement("ul");
  bars.className = "genre-bars";
  for (const { genre, share } of profile.top_genres) {
    const row = document.createElement("li");
    const name = document.createElement("span");
    name.textContent = genre;
    const bar = document.createElement("span");
    bar.className = "bar";
    bar.style.width = `${Math.max(2, Math.round(share * 100))}%`;
    bar.setAttribute("aria-hidden", "true");
    const value = document.createElement("span");
    value.textContent = `${Math.round(share * 100)}%`;
    row.append(name, bar, value);
    bars.append(row);
  }

  const recentHeading = document.createElement("h3");
  recentHeading.textContent = "Recent events";
  const recent = document.createElement("ul");
  recent.className = "history";
  for (const event of profile.recent) {
    const row = document.createElement("li");
    const when = new Date(event.timestamp).toLocaleString();
    row.textContent = `${event.event_type}: ${event.title || event.item_id} (${when})`;
    recent.append(row);
  }
  panel.replaceChildren(summary, genresHeading, bars, recentHeading, recent);
}

function metricCell(value) {
  const cell = document.createElement("td");
  cell.textContent = value === null || value === undefined ? "–" : value.toFixed(3);
  return cell;
}

async function refreshModel() {
  const panel = $("model");
  let model;
  try {
    model = await api("/model");
  } catch (error) {
    panel.innerHTML = "";
    const note = document.createElement("p");
    note.className = "meta";
    note.textContent = error.status === 503 ? "No model published yet." : error.message;
    panel.append(note);
    return;
  }
  state.modelVersion = model.model_version;
  const facts = document.createElement("p");
  facts.className = "meta";
  const published = model.published_at ? new Date(model.published_at).toLocaleString() : "–";
  facts.textContent =
    `${model.model_version} · ${model.algorithm} · trained ` +
    `${new Date(model.trained_at).toLocaleString()} · published ${published}`;
  facts.id = "model-version";

  const table = document.createElement("table");
  table.className = "metrics";
  const caption = document.createElement("caption");
  caption.className = "meta";
  caption.textContent = "Offline metrics on the held-out test split";
  const head = document.createElement("tr");
  for (const label of ["metric", "model", "popularity", "lift"]) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = label;
    head.append(th);
  }
  table.append(caption, head);
  const baseline = model.baseline_metrics.popularity || {};
  const names = {
    ndcg_at_10: "NDCG@10",
    precision_at_10: "precision@10",
    recall_at_10: "recall@10",
    map_at_10: "MAP@10",
    coverage: "coverage@10",
  };
  for (const [key, label] of Object.entries(names)) {
    const row = document.createElement("tr");
    const name = document.createElement("th");
    name.scope = "row";
    name.textContent = label;
    const mine = model.metrics[key];
    const theirs = baseline[key];
    const lift = document.createElement("td");
    lift.textContent = mine && theirs ? `${(mine / theirs).toFixed(2)}×` : "–";
    row.append(name, metricCell(mine), metricCell(theirs), lift);
    table.append(row);
  }
  const decision = document.createElement("p");
  decision.className = "meta";
  decision.textContent = model.decision;
  panel.replaceChildren(facts, table, decision, await experimentPanel());
}

// The running experiment, if any: its variants' users, CTR with 95% intervals, lift, p-value.
async function experimentPanel() {
  const box = document.createElement("div");
  box.id = "experiment";
  const listed = await api("/experiments");
  const live = listed.find((e) => e.status === "running" || e.status === "waiting");
  if (!live) {
    box.textContent = "No experiment running.";
    box.className = "meta";
    return box;
  }
  const report = await api(`/experiments/${encodeURIComponent(live.name)}`);
  const heading = document.createElement("h3");
  heading.textContent = `Experiment ${live.name} (${report.status})`;
  const table = document.createElement("table");
  table.className = "metrics";
  const head = document.createElement("tr");
  for (const label of ["variant", "users", "CTR (95% CI)", "lift", "p"]) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = label;
    head.append(th);
  }
  table.append(head);
  for (const v of report.results.variants) {
    const row = document.createElement("tr");
    const ctr = `${v.ctr.value.toFixed(3)} (${v.ctr.low.toFixed(3)}–${v.ctr.high.toFixed(3)})`;
    const control = v.variant === report.definition.control;
    const lift = v.lift ? `${(v.lift.value * 100).toFixed(1)}%` : control ? "control" : "–";
    const p = v.p_value === null ? "–" : v.p_value.toPrecision(2);
    for (const text of [v.variant, String(v.users), ctr, lift, p]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    table.append(row);
  }
  const decision = document.createElement("p");
  decision.className = "meta";
  decision.textContent = report.decision.reason;
  box.append(heading, table, decision);
  return box;
}

async function loadAbout() {
  const about = await api("/about");
  const links = [
    ["Dagster UI (runs, assets, checks)", about.dagster_url],
    ["MLflow (experiments, registry)", about.mlflow_url],
  ];
  if (about.data_docs_url) links.push(["Data Docs (data quality report)", about.data_docs_url]);
  $("links").replaceChildren(
    ...links.map(([label, href]) => {
      const item = document.createElement("li");
      const link = document.createElement("a");
      link.href = href;
      link.textContent = label;
      link.target = "_blank";
      link.rel = "noopener";
      item.append(link);
      return item;
    }),
  );
  if (!about.data_docs_url) {
    const item = document.createElement("li");
    item.textContent = "Data Docs appear after the pipeline's first checks run.";
    $("links").append(item);
  }
  $("example-users").replaceChildren(
    ...about.example_users.map((user) => {
      const option = document.createElement("option");
      option.value = user;
      return option;
    }),
  );
  const genre = $("catalog-genre");
  genre.replaceChildren(genre.options[0], ...about.genres.map((name) => new Option(name, name)));
}

async function refreshTrending() {
  const span = $("trending-window").value;
  const viewer = state.user ? `&user_id=${encodeURIComponent(state.user)}` : "";
  const data = await api(`/trending?k=8&window=${encodeURIComponent(span)}${viewer}`);
  const info = await itemsById(data.items.map((item) => item.item_id));
  $("trending").replaceChildren(
    ...data.items.map((item) =>
      card(item, info.get(item.item_id), { score: false, requestId: data.request_id }),
    ),
  );
}

async function refreshCatalog() {
  const params = new URLSearchParams({
    q: $("catalog-q").value,
    offset: String(state.catalog.offset),
    limit: String(PAGE_SIZE),
  });
  if ($("catalog-genre").value) params.set("genre", $("catalog-genre").value);
  const page = await api(`/catalog?${params}`);
  state.catalog.total = page.total;
  $("catalog").replaceChildren(
    ...page.items.map((item) => card({ item_id: item.item_id }, item, { score: false })),
  );
  const last = Math.min(page.offset + page.items.length, page.total);
  $("catalog-meta").textContent = page.total
    ? `${page.offset + 1}–${last} of ${page.total} items`
    : "No items match.";
  $("catalog-prev").disabled = page.offset === 0;
  $("catalog-next").disabled = last >= page.total;
}

async function loadUser(user) {
  state.user = user;
  state.shown = [];
  $("user-id").value = user;
  const url = new URL(window.location.href);
  url.searchParams.set("user", user);
  window.history.replaceState(null, "", url);
  await Promise.all([refreshRecommendations(), refreshProfile()]);
  say(`Showing ${user}.`);
}

async function react(itemId, eventType, title, node, requestId = null) {
  if (!state.user) {
    say("Pick a user or start as a new user first.", true);
    $("user-id").focus();
    return;
  }
  const buttons = node.querySelectorAll("button");
  buttons.forEach((button) => (button.disabled = true));
  try {
    await api("/events", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      // The list's request_id credits the engagement to the list it came from.
      body: JSON.stringify({
        user_id: state.user,
        item_id: itemId,
        event_type: eventType,
        ...(requestId ? { request_id: requestId } : {}),
      }),
    });
    const { data, fresh } = await refreshRecommendations();
    await refreshProfile();
    say(
      `${VERBS[eventType]} “${title}”. Recommendations now from ${data.source}: ` +
        `${fresh.length} new.`,
    );
  } catch (error) {
    say(`Could not record that: ${error.message}`, true);
  } finally {
    buttons.forEach((button) => (button.disabled = false));
  }
}

async function checkForNewModel() {
  const before = state.modelVersion;
  await refreshModel();
  if (before && state.modelVersion !== before) {
    say(`A new model version is live: ${state.modelVersion}.`);
    if (state.user) await refreshRecommendations();
    await refreshTrending();
  }
}

function guarded(task) {
  return async (...args) => {
    try {
      await task(...args);
    } catch (error) {
      say(error.message, true);
    }
  };
}

function wire() {
  $("user-form").addEventListener(
    "submit",
    guarded(async (event) => {
      event.preventDefault();
      const user = $("user-id").value.trim();
      if (user) await loadUser(user);
    }),
  );
  $("new-user").addEventListener(
    "click",
    guarded(async () => {
      const user = `web-${Math.random().toString(36).slice(2, 10)}`;
      await loadUser(user);
      say(`You are ${user}: like a few trending or catalogue items and watch the list change.`);
    }),
  );
  $("trending-window").addEventListener("change", guarded(refreshTrending));
  $("catalog-form").addEventListener(
    "submit",
    guarded(async (event) => {
      event.preventDefault();
      state.catalog.offset = 0;
      await refreshCatalog();
    }),
  );
  $("catalog-prev").addEventListener(
    "click",
    guarded(async () => {
      state.catalog.offset = Math.max(0, state.catalog.offset - PAGE_SIZE);
      await refreshCatalog();
    }),
  );
  $("catalog-next").addEventListener(
    "click",
    guarded(async () => {
      state.catalog.offset += PAGE_SIZE;
      await refreshCatalog();
    }),
  );
}

async function start() {
  wire();
  await Promise.all([refreshModel(), loadAbout()]);
  if (!state.modelVersion) {
    say("No model is published yet: run the full_pipeline job (recsys up does).");
  } else {
    await Promise.all([refreshTrending(), refreshCatalog()]);
    const user = new URL(window.location.href).searchParams.get("user");
    if (user) await loadUser(user);
  }
  document.body.dataset.ready = "true";
  setInterval(guarded(checkForNewModel), MODEL_POLL_MS);
}

start().catch((error) => {
  say(error.message, true);
  document.body.dataset.ready = "true";
});
