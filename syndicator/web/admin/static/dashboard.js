// Syndicator's operators' dashboard: plain JavaScript, no framework, no build step.
//
// Security rules this file keeps (tests/test_dashboard.py checks them in a real browser):
// - the admin token lives only in this tab's sessionStorage and travels only as
//   `Authorization: Bearer` on fetch() calls to the admin API (credentials: "omit": no cookie);
// - every string from the API (titles, errors, URLs: upstream- or config-derived) is
//   inserted as text (createTextNode / textContent), never through innerHTML;
// - a link to an article is made only for an http(s) URL.
"use strict";

(() => {
  const TOKEN_KEY = "syndicator-admin-token";
  const API = "api/"; // relative to /admin/, so a reverse proxy may mount it elsewhere
  const POLL_MS = 700; // how often a run's state is asked while it is pending
  const REFRESH_MS = 10000; // how often the open view reloads its data

  const byId = (id) => document.getElementById(id);
  let refreshTimer = null;
  const results = new Map(); // source id → {text, cls}: the last action's result, kept across re-renders

  // ------------------------------------------------------------------ DOM helpers

  // el("td", {class: "num"}, "text", node, …): children are nodes or text (never HTML).
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  function safeHref(url) {
    try {
      const parsed = new URL(String(url));
      return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
    } catch (e) {
      return null;
    }
  }

  function fmtTime(iso) {
    if (!iso) return "–";
    return String(iso).replace("T", " ").replace(/(\.\d+)?(\+00:00|Z)$/, "");
  }

  function fmtSeconds(value) {
    if (value === null || value === undefined) return "–";
    return value < 1 ? `${Math.round(value * 1000)} ms` : `${value.toFixed(2)} s`;
  }

  function fmtBytes(value) {
    if (value === null || value === undefined) return "–";
    if (value < 1024) return `${value} B`;
    if (value < 1024 * 1024) return `${(value / 1024).toFixed(1)} KiB`;
    return `${(value / 1024 / 1024).toFixed(1)} MiB`;
  }

  function flash(message) {
    const node = byId("flash");
    node.textContent = message;
    node.hidden = !message;
  }

  function stateBadge(state) {
    return el("span", { class: `state state-${state}` }, state);
  }

  function table(headers, rows, attrs) {
    return el(
      "table",
      attrs || {},
      el("thead", {}, el("tr", {}, headers.map((h) => el("th", {}, h)))),
      el("tbody", {}, rows),
    );
  }

  // ------------------------------------------------------------------ the API

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function api(method, path, body) {
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (!token) {
      showLogin("");
      throw new ApiError(401, "no admin token");
    }
    const init = {
      method,
      headers: { Authorization: `Bearer ${token}` },
      credentials: "omit",
      cache: "no-store",
    };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(API + path, init);
    let data = null;
    try {
      data = await response.json();
    } catch (e) {
      data = null;
    }
    const message = (data && data.error) || `${response.status} ${response.statusText}`;
    if (response.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      showLogin(`The admin token was refused: ${message}`);
      throw new ApiError(401, message);
    }
    if (!response.ok) throw new ApiError(response.status, message);
    return data;
  }

  // ------------------------------------------------------------------ token prompt

  function showLogin(message) {
    stopRefresh();
    byId("login").hidden = false;
    byId("nav").hidden = true;
    clear(byId("view"));
    byId("login-error").textContent = message || "";
    byId("token").focus();
  }

  async function login(event) {
    event.preventDefault();
    const input = byId("token");
    const token = input.value.trim();
    input.value = "";
    if (!token) return;
    sessionStorage.setItem(TOKEN_KEY, token);
    try {
      await api("GET", "sources");
    } catch (e) {
      if (e.status !== 401) byId("login-error").textContent = e.message;
      return;
    }
    byId("login").hidden = true;
    byId("nav").hidden = false;
    route();
  }

  function forgetToken() {
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin("Token forgotten.");
  }

  // ------------------------------------------------------------------ actions

  function setResult(sourceId, text, cls) {
    results.set(sourceId, { text, cls: cls || "" });
    for (const node of document.querySelectorAll("[data-result-for]")) {
      if (node.dataset.resultFor === sourceId) {
        node.textContent = text;
        node.className = `result ${cls || ""}`;
      }
    }
  }

  function resultNode(sourceId) {
    const known = results.get(sourceId);
    const node = el("span", { class: `result ${known ? known.cls : ""}`, "data-result-for": sourceId });
    node.textContent = known ? known.text : "";
    return node;
  }

  async function reingest(sourceId, force) {
    setResult(sourceId, force ? "queuing a forced run…" : "queuing a run…");
    let answer;
    try {
      answer = await api("POST", "reingest", { sources: [sourceId], force: Boolean(force) });
    } catch (e) {
      setResult(sourceId, `re-ingest refused: ${e.message}`, "failed");
      return;
    }
    if (answer.skipped.length) {
      setResult(sourceId, `skipped: ${answer.skipped[0].reason}`, "failed");
      return;
    }
    const runId = answer.queued[0].run_id;
    setResult(sourceId, `run ${runId} queued`);
    await followRun(sourceId, runId);
  }

  async function followRun(sourceId, runId) {
    for (;;) {
      let run;
      try {
        run = await api("GET", `runs/${encodeURIComponent(runId)}`);
      } catch (e) {
        setResult(sourceId, `run ${runId}: ${e.message}`, "failed");
        return;
      }
      if (run.state === "done") {
        setResult(sourceId, `run ${runId} done: ${run.summary || "done"}`, "done");
        break;
      }
      if (run.state === "failed") {
        setResult(sourceId, `run ${runId} failed: ${run.reason || "failed"}`, "failed");
        break;
      }
      setResult(sourceId, `run ${runId} ${run.state}…`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    await refreshCurrent();
  }

  async function pauseOrResume(source) {
    const action = source.state === "paused" || source.state === "gone" ? "resume" : "pause";
    try {
      const path = `sources/${encodeURIComponent(source.source_id)}/${action}`;
      const health = await api("POST", path, action === "pause" ? { reason: "paused from the dashboard" } : undefined);
      setResult(source.source_id, action === "pause" ? "paused" : "resumed: due now", "done");
      Object.assign(source, health);
    } catch (e) {
      setResult(source.source_id, `${action} refused: ${e.message}`, "failed");
    }
    await refreshCurrent();
  }

  function actionButtons(source) {
    const halted = source.state === "paused" || source.state === "gone";
    return [
      el("button", { type: "button", class: "reingest", onclick: () => reingest(source.source_id, false) }, "Re-ingest"),
      el("button", { type: "button", class: "force", onclick: () => reingest(source.source_id, true) }, "Force"),
      el(
        "button",
        { type: "button", class: halted ? "resume" : "pause", onclick: () => pauseOrResume(source) },
        halted ? "Resume" : "Pause",
      ),
      resultNode(source.source_id),
    ];
  }

  // ------------------------------------------------------------------ sources table

  const COLUMNS = [
    { key: "source_id", label: "Source" },
    { key: "state", label: "State" },
    { key: "last_fetch_at", label: "Last fetch" },
    { key: "last_http_status", label: "HTTP", num: true },
    { key: "consecutive_errors", label: "Errors", num: true },
    { key: "next_due", label: "Next due" },
    { key: "articles_stored", label: "Articles", num: true },
    { key: "last_error", label: "Last error" },
  ];
  const table_state = { sort: "source_id", dir: 1, text: "", state: "" };
  let sources = [];

  function matches(source) {
    if (table_state.state && source.state !== table_state.state) return false;
    const needle = table_state.text.trim().toLowerCase();
    if (!needle) return true;
    const hay = [source.source_id, source.title, source.url, source.state, source.last_error, ...(source.categories || [])];
    return hay.some((v) => v && String(v).toLowerCase().includes(needle));
  }

  function compare(a, b) {
    const x = a[table_state.sort];
    const y = b[table_state.sort];
    if (x === y) return 0;
    if (x === null || x === undefined) return 1; // empty values last, whichever way
    if (y === null || y === undefined) return -1;
    return (x < y ? -1 : 1) * table_state.dir;
  }

  function sourceRow(source) {
    return el(
      "tr",
      { "data-source": source.source_id },
      el(
        "td",
        {},
        el("a", { href: `#/sources/${encodeURIComponent(source.source_id)}`, class: "source-id" }, source.source_id),
        el("div", { class: "muted source-title" }, source.title || ""),
      ),
      el("td", { class: "state-cell" }, stateBadge(source.state)),
      el("td", { class: "time" }, fmtTime(source.last_fetch_at)),
      el("td", { class: "num" }, source.last_http_status ?? "–"),
      el("td", { class: "num" }, source.consecutive_errors),
      el("td", { class: "time" }, fmtTime(source.next_due)),
      el("td", { class: "num" }, source.articles_stored),
      el("td", { class: "error last-error" }, source.last_error || ""),
      el("td", { class: "actions" }, actionButtons(source)),
    );
  }

  function renderSourcesTable() {
    const body = byId("sources-body");
    if (!body) return;
    clear(body);
    const shown = sources.filter(matches).sort(compare);
    for (const source of shown) body.append(sourceRow(source));
    byId("sources-count").textContent = `${shown.length} of ${sources.length} sources`;
    for (const th of document.querySelectorAll("#sources th.sortable")) {
      const sorted = th.dataset.key === table_state.sort;
      if (sorted) th.setAttribute("aria-sort", table_state.dir > 0 ? "ascending" : "descending");
      else th.removeAttribute("aria-sort");
    }
  }

  async function loadSources() {
    sources = (await api("GET", "sources")).sources;
    renderSourcesTable();
  }

  function sourcesView(view) {
    const text = el("input", {
      type: "search",
      id: "filter",
      placeholder: "filter: id, title, URL, error, category",
      "aria-label": "filter sources",
    });
    text.value = table_state.text;
    text.addEventListener("input", () => {
      table_state.text = text.value;
      renderSourcesTable();
    });
    const state = el(
      "select",
      { id: "state-filter", "aria-label": "state" },
      ["", "ok", "failing", "paused", "gone"].map((s) => el("option", { value: s }, s || "any state")),
    );
    state.value = table_state.state;
    state.addEventListener("change", () => {
      table_state.state = state.value;
      renderSourcesTable();
    });
    const headers = COLUMNS.map((c) =>
      el(
        "th",
        {
          class: "sortable",
          "data-key": c.key,
          onclick: () => {
            table_state.dir = table_state.sort === c.key ? -table_state.dir : 1;
            table_state.sort = c.key;
            renderSourcesTable();
          },
        },
        c.label,
      ),
    );
    view.append(
      el("h2", {}, "Sources"),
      el(
        "div",
        { class: "toolbar" },
        text,
        state,
        el("button", { type: "button", onclick: () => loadSources() }, "Refresh"),
        el("span", { id: "sources-count", class: "muted" }),
      ),
      el(
        "table",
        { id: "sources" },
        el("thead", {}, el("tr", {}, headers, el("th", {}, "Actions"))),
        el("tbody", { id: "sources-body" }),
      ),
    );
    return loadSources;
  }

  // ------------------------------------------------------------------ one source

  function healthList(h) {
    const rows = [
      ["Title", h.title],
      ["Kind", h.kind],
      ["URL", h.url],
      ["Categories", (h.categories || []).join(", ")],
      ["Enabled", h.enabled ? "yes" : "no"],
      ["State", stateBadge(h.state)],
      ["State since", h.state_since ? `${fmtTime(h.state_since)} — ${h.state_reason || ""}` : "–"],
      ["Last fetch", `${fmtTime(h.last_fetch_at)} (${h.last_status || "–"})`],
      ["Last error", h.last_error ? `${fmtTime(h.last_error_at)} ${h.last_error}` : "–"],
      ["Consecutive errors", h.consecutive_errors],
      ["Next due", h.next_due && h.next_due_reason ? `${fmtTime(h.next_due)} — ${h.next_due_reason}` : fmtTime(h.next_due)],
      ["Upstream hint", h.poll_hint || "–"],
      ["Articles", `${h.articles_stored} stored, ${h.articles_24h} in the last 24 h`],
      ["Mean poll", fmtSeconds(h.mean_fetch_seconds)],
      ["Warnings", (h.warnings || []).join("; ") || "–"],
      [
        "Filtered",
        Object.entries(h.rule_counts || {})
          .map(([rule, n]) => `${rule}: ${n}`)
          .join("; ") || "–",
      ],
      ["WebSub", websubLine(h)],
      ["WebSub pushes", websubPushes(h)],
    ];
    return el("dl", { class: "health" }, rows.map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  }

  // Our subscription to the upstream's hub (text only: hub and topic are upstream data).
  function websubLine(h) {
    if (!h.websub_state) return "not subscribed (no hub advertised, or subscriber off)";
    const lease = h.websub_expires_at ? `, lease until ${fmtTime(h.websub_expires_at)}` : "";
    const why = h.websub_reason ? ` — ${h.websub_reason}` : "";
    return `${h.websub_state} at ${h.websub_hub} for ${h.websub_topic}${lease}${why}`;
  }

  function websubPushes(h) {
    if (!h.websub_state) return "–";
    const last = h.websub_last_push_at ? `; last ${fmtTime(h.websub_last_push_at)}: ${h.websub_last_push}` : "";
    return (
      `${h.websub_pushes} ingested, ${h.websub_pushes_unsigned} unsigned and ` +
      `${h.websub_pushes_bad_signature} wrongly signed (dropped), ${h.websub_pushes_refused} refused${last}`
    );
  }

  function timeline(fetches) {
    const oldestFirst = [...fetches].reverse();
    const bars = el(
      "div",
      { class: "timeline", id: "timeline", "aria-label": "last polls, oldest first" },
      oldestFirst.map((f) =>
        el("span", {
          class: `tick-${f.outcome}`,
          title: `${fmtTime(f.at)} ${f.status}${f.error ? `: ${f.error}` : ""}`,
        }),
      ),
    );
    const rows = fetches.map((f) =>
      el(
        "tr",
        {},
        el("td", { class: "time" }, fmtTime(f.at)),
        el("td", {}, f.http_status ?? "–"),
        el("td", {}, f.outcome),
        el("td", { class: "num" }, fmtBytes(f.bytes)),
        el("td", { class: "num" }, f.new),
        el("td", { class: "num" }, f.changed),
        el("td", { class: "num" }, fmtSeconds(f.duration)),
        el("td", { class: "error" }, f.error || ""),
      ),
    );
    return [
      bars,
      table(["Time", "HTTP", "Outcome", "Bytes", "New", "Changed", "Took", "Error"], rows, { id: "fetches" }),
    ];
  }

  function runsTable(runs) {
    const rows = runs.map((r) =>
      el(
        "tr",
        {},
        el("td", {}, r.run_id),
        el("td", {}, r.kind),
        el("td", {}, r.state),
        el("td", { class: "time" }, fmtTime(r.queued_at)),
        el("td", { class: "time" }, fmtTime(r.finished_at)),
        el("td", { class: "num" }, r.tries),
        el("td", {}, r.state === "failed" ? r.reason || "" : r.summary || r.reason || ""),
      ),
    );
    return table(["Run", "Kind", "State", "Queued", "Finished", "Tries", "Outcome"], rows, { id: "runs" });
  }

  // Take an article down (DELETE /admin/api/articles/{id}): the first click asks, the second hides.
  function hideButton(article) {
    const button = el("button", { type: "button", class: "hide" }, "Hide");
    const note = el("span", { class: "result" });
    button.addEventListener("click", async () => {
      if (!button.classList.contains("confirm")) {
        button.classList.add("confirm");
        button.textContent = "Hide for good?";
        return;
      }
      button.disabled = true;
      try {
        const result = await api("DELETE", `articles/${encodeURIComponent(article.article_id)}`, {
          reason: "hidden from the dashboard",
        });
        note.textContent = `hidden; ${result.categories.length} categor${result.categories.length === 1 ? "y" : "ies"} published again`;
        note.className = "result done";
        await refreshCurrent();
      } catch (e) {
        note.textContent = `hide refused: ${e.message}`;
        note.className = "result failed";
        button.disabled = false;
      }
    });
    return [button, note];
  }

  function articlesList(articles) {
    const rows = articles.map((a) => {
      const href = safeHref(a.url);
      const title = a.title || a.url;
      return el(
        "tr",
        { "data-article": a.article_id },
        el("td", { class: "time" }, fmtTime(a.published)),
        el("td", {}, href ? el("a", { href, rel: "noreferrer noopener", target: "_blank" }, title) : title),
        el("td", {}, a.categories.join(", ")),
        el("td", { class: "actions" }, hideButton(a)),
      );
    });
    return table(["Published", "Title", "Categories", ""], rows, { id: "articles" });
  }

  function sourceView(view, sourceId) {
    const path = `sources/${encodeURIComponent(sourceId)}`;
    return async () => {
      const [health, runs, fetches, articles] = await Promise.all([
        api("GET", path),
        api("GET", `${path}/runs?limit=20`),
        api("GET", `${path}/fetches`),
        api("GET", `${path}/articles?limit=50`),
      ]);
      clear(view).append(
        el("p", {}, el("a", { href: "#/sources" }, "← all sources")),
        el("h2", {}, "Source ", el("code", {}, health.source_id)),
        el("div", { class: "toolbar", "data-source": health.source_id }, actionButtons(health)),
        healthList(health),
        el("h3", {}, `Last ${fetches.fetches.length} polls`),
        ...timeline(fetches.fetches),
        el("h3", {}, "Recent runs"),
        runsTable(runs.runs),
        el("h3", {}, `Articles (${articles.articles.length} newest)`),
        articlesList(articles.articles),
      );
    };
  }

  // ------------------------------------------------------------------ queue and workers

  function queueView(view) {
    return async () => {
      const q = await api("GET", "queue");
      const workers = q.workers.map((w) =>
        el(
          "tr",
          {},
          el("td", {}, w.worker_id),
          el("td", {}, w.host),
          el("td", { class: "num" }, w.pid),
          el("td", { class: "time" }, fmtTime(w.started)),
          el("td", { class: "num" }, fmtSeconds(w.age_seconds)),
          el("td", { class: "num" }, w.jobs_running),
          el("td", {}, w.stale ? "stale" : "alive"),
        ),
      );
      clear(view).append(
        el("h2", {}, "Queue and workers"),
        el("p", { id: "queue-depth" }, `${q.depth} job(s) waiting in the queue`),
        el("h3", {}, "Runs in progress"),
        runsTable(q.runs_in_progress),
        el("h3", {}, "Workers"),
        q.workers.length
          ? table(["Worker", "Host", "PID", "Started", "Last beat", "Jobs", "Status"], workers, { id: "workers" })
          : el("p", { class: "error" }, "No worker heartbeat: runs stay queued until a worker starts (`syndicator worker`)."),
      );
    };
  }

  // ------------------------------------------------------------------ audit log

  function auditView(view) {
    return async () => {
      const { entries } = await api("GET", "audit?limit=200");
      const rows = entries.map((a) =>
        el(
          "tr",
          {},
          el("td", { class: "time" }, fmtTime(a.at)),
          el("td", {}, a.who),
          el("td", {}, a.action),
          el("td", {}, a.target),
          el("td", {}, a.outcome),
          el("td", {}, a.detail || ""),
        ),
      );
      clear(view).append(
        el("h2", {}, "Audit log"),
        el("p", { class: "muted" }, "Every admin action, newest first (the last 1,000 are kept)."),
        table(["When", "Who", "Action", "Target", "Outcome", "Detail"], rows, { id: "audit" }),
      );
    };
  }

  // ------------------------------------------------------------------ preview

  function previewView(view) {
    const sourceSelect = el("select", { id: "preview-source", "aria-label": "configured source" }, el("option", { value: "" }, "a configured source…"));
    const tableText = el("textarea", {
      id: "preview-table",
      placeholder: '…or a source table as JSON, e.g. {"id": "blog", "url": "…/feed.xml"}',
      "aria-label": "source table (JSON)",
    });
    const out = el("div", { id: "preview-result" });
    const form = el(
      "form",
      { id: "preview-form" },
      el("p", {}, "Run a source through the whole pipeline without storing anything (20 items, 3 pages or 30 s at most)."),
      el("p", {}, sourceSelect),
      el("p", {}, tableText),
      el("button", { type: "submit" }, "Preview"),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      let body;
      if (tableText.value.trim()) {
        try {
          body = { source: JSON.parse(tableText.value) };
        } catch (e) {
          clear(out).append(el("p", { class: "error" }, `not JSON: ${e.message}`));
          return;
        }
      } else if (sourceSelect.value) {
        body = { source_id: sourceSelect.value };
      } else {
        clear(out).append(el("p", { class: "error" }, "choose a source or give a source table"));
        return;
      }
      clear(out).append(el("p", { class: "muted" }, "running…"));
      try {
        showPreview(out, await api("POST", "preview", body));
      } catch (e) {
        clear(out).append(el("p", { class: "error" }, `preview failed: ${e.message}`));
      }
    });
    view.append(el("h2", {}, "Preview a source"), form, out);
    return async () => {
      if (sourceSelect.options.length > 1) return;
      for (const s of (await api("GET", "sources")).sources) sourceSelect.append(el("option", { value: s.source_id }, s.source_id));
    };
  }

  function showPreview(out, data) {
    const articles = data.articles;
    const problems = [data.error, ...data.warnings].filter(Boolean);
    const rows = articles.map((a) => {
      const href = safeHref(a.url);
      const title = a.title || a.url || "";
      return el(
        "tr",
        {},
        el("td", { class: "time" }, fmtTime(a.published)),
        el("td", {}, href ? el("a", { href, rel: "noreferrer noopener", target: "_blank" }, title) : title),
        el("td", {}, a.categories.join(", ")),
      );
    });
    const stopped = data.stopped.length ? ` (stopped by: ${data.stopped.join(", ")})` : "";
    const fetched = `, ${data.documents} document(s) fetched`;
    clear(out).append(
      ...problems.map((p) => el("p", { class: "error" }, p)),
      el("p", { id: "preview-summary" }, `${articles.length} article(s) would be stored${fetched}${stopped}; nothing was stored`),
      table(["Published", "Title", "Categories"], rows, { id: "preview-articles" }),
    );
  }

  // ------------------------------------------------------------------ routing

  function stopRefresh() {
    if (refreshTimer !== null) clearInterval(refreshTimer);
    refreshTimer = null;
  }

  let currentLoad = null;

  async function refreshCurrent() {
    if (!currentLoad) return;
    try {
      await currentLoad();
      flash("");
    } catch (e) {
      if (e.status !== 401) flash(`Could not load: ${e.message}`);
    }
  }

  function route() {
    stopRefresh();
    if (!sessionStorage.getItem(TOKEN_KEY)) {
      showLogin("");
      return;
    }
    byId("login").hidden = true;
    byId("nav").hidden = false;
    const view = clear(byId("view"));
    const hash = location.hash.replace(/^#\/?/, "");
    const [page, ...rest] = hash.split("/");
    if (page === "sources" && rest.length) currentLoad = sourceView(view, decodeURIComponent(rest.join("/")));
    else if (page === "queue") currentLoad = queueView(view);
    else if (page === "audit") currentLoad = auditView(view);
    else if (page === "preview") currentLoad = previewView(view);
    else currentLoad = sourcesView(view);
    refreshCurrent();
    if (page !== "preview") refreshTimer = setInterval(refreshCurrent, REFRESH_MS);
  }

  document.addEventListener("DOMContentLoaded", () => {
    byId("login-form").addEventListener("submit", login);
    byId("forget-token").addEventListener("click", forgetToken);
    window.addEventListener("hashchange", route);
    route();
  });
})();
