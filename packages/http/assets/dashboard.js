// batchjob dashboard: fills the page from the JSON API and refreshes it every 2 s.
// Values are written with textContent (never innerHTML): type names, errors and
// payloads are user data. Actions POST with the X-Batchjob-Action header.

const EVERY_MS = 2000;
const METRICS = document.body.dataset.metrics === "1";
const SVG = "http://www.w3.org/2000/svg";

/** An element with attributes and children (strings become text). */
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "onclick") e.addEventListener("click", v);
    else e.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null) continue;
    e.append(typeof c === "string" || typeof c === "number" ? String(c) : c);
  }
  return e;
}

function table(head, rows) {
  return el(
    "table",
    {},
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        head.map((h) => el("th", {}, h)),
      ),
    ),
    el("tbody", {}, rows),
  );
}

function num(v, cls) {
  return el("td", { class: `num ${cls ?? ""}` }, v === null || v === undefined ? "?" : String(v));
}

function ago(ms) {
  if (ms === null || ms === undefined) return "-";
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  return `${Math.floor(s / 3600)}h ago`;
}

function age(ms) {
  if (ms === null || ms === undefined) return "-";
  return ago(ms).replace(" ago", "");
}

function bytes(n) {
  if (n === null || n === undefined) return "-";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

function fill(id, ...content) {
  const body = document.querySelector(`#${id} .body`);
  body.replaceChildren(...content);
}

async function getJson(path) {
  const r = await fetch(path, { credentials: "same-origin", cache: "no-store" });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw Object.assign(new Error(body.error ?? `${path}: HTTP ${r.status}`), { status: r.status });
  return body;
}

async function act(path, question) {
  if (question && !window.confirm(question)) return;
  try {
    const r = await fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-Batchjob-Action": "1", "Content-Type": "application/json" },
      body: "{}",
    });
    if (!r.ok) {
      const body = await r.json().catch(() => ({}));
      showError(`${path}: ${body.error ?? `HTTP ${r.status}`}`);
    }
  } catch (err) {
    showError(`${path}: ${err.message}`);
  }
  await refresh();
}

function showError(text) {
  const p = document.getElementById("problems");
  p.hidden = false;
  p.textContent = text;
}

const typePath = (name) => `/api/types/${encodeURIComponent(name)}`;

function renderTypes(types, ages) {
  if (types.length === 0) return fill("types", el("p", { class: "muted" }, "No job types yet."));
  const rows = types.map((t) =>
    el(
      "tr",
      { "data-type": t.name },
      el(
        "td",
        {},
        el("strong", {}, t.name),
        t.paused ? el("span", { class: "badge paused", "data-paused": "1" }, "PAUSED") : null,
        t.unavailable ? el("span", { class: "badge dead", title: t.unavailable }, "unavailable") : null,
        // alerts firing now (the manager's alerts step): one badge each, its value and threshold as the title
        ...(t.alerts ?? []).map((a) =>
          el(
            "span",
            {
              class: "badge dead",
              "data-alert": a.alert,
              title: `${a.value} ≥ ${a.threshold} since ${new Date(a.since).toISOString()}`,
            },
            `alert: ${a.alert}`,
          ),
        ),
      ),
      num(t.pending, "pending"),
      num(t.leased, "leased"),
      num(t.delayed, "delayed"),
      num(t.dead, t.dead ? "dead bad" : "dead"),
      el("td", { class: "num workers" }, `${t.running}/${t.target ?? "-"}`),
      el("td", { class: "wrap decision" }, t.decision ? `${t.decision.reason} (${t.decision.level})` : "-"),
      el("td", { class: "num oldest" }, METRICS ? age(ages[t.name]) : "n/a"),
      el(
        "td",
        {},
        t.paused
          ? el("button", { "data-action": "resume", onclick: () => act(`${typePath(t.name)}/resume`) }, "Resume")
          : el("button", { "data-action": "pause", onclick: () => act(`${typePath(t.name)}/pause`) }, "Pause"),
      ),
    ),
  );
  fill(
    "types",
    table(["Type", "Pending", "Leased", "Delayed", "Dead", "Workers", "Last decision", "Oldest pending", ""], rows),
  );
}

function renderHosts(hosts) {
  if (hosts.length === 0) return fill("hosts", el("p", { class: "muted" }, "No worker hosts."));
  fill(
    "hosts",
    table(
      ["Host", "Heartbeat", "Load", "CPU", "Free mem", "Slots", "Running", "Version"],
      hosts.map((h) =>
        el(
          "tr",
          { "data-host": h.id },
          el(
            "td",
            {},
            h.id,
            h.alive ? null : el("span", { class: "badge dead" }, "dead"),
            h.draining ? el("span", { class: "badge paused" }, "draining") : null,
          ),
          el("td", {}, ago(h.beatAgeMs)),
          num(h.load.loadAvg.toFixed(2)),
          num(`${Math.round(h.load.cpu * 100)}%`),
          num(bytes(h.load.freeMemBytes)),
          num(h.slots),
          el(
            "td",
            {},
            Object.entries(h.running)
              .sort(([a], [b]) => a.localeCompare(b))
              .map(([k, v]) => `${k}:${v}`)
              .join(" ") || "-",
          ),
          el("td", { class: "muted" }, h.version),
        ),
      ),
    ),
  );
}

function renderWorkers(workers) {
  if (workers.length === 0) return fill("workers", el("p", { class: "muted" }, "No running workers."));
  fill(
    "workers",
    table(
      ["Type", "Host", "PID", "Launcher", "Started", "Chunks", "Done", "Failed", "Retried", "Chunk"],
      workers.map((w) =>
        el(
          "tr",
          {},
          el("td", {}, w.jobType),
          el("td", {}, w.hostId),
          num(w.pid),
          el("td", {}, w.launcher),
          el("td", {}, ago(Date.now() - Date.parse(w.createdAt))),
          num(w.chunks),
          num(w.itemsDone),
          num(w.itemsFailed),
          num(w.itemsRetried),
          el("td", { class: "muted" }, w.currentChunkId ? `${w.currentChunkSize} items` : "between chunks"),
        ),
      ),
    ),
  );
}

function renderHistory(history) {
  if (history.length === 0) return fill("history", el("p", { class: "muted" }, "No finished workers yet."));
  fill(
    "history",
    table(
      ["Finished", "Type", "Host", "Duration", "Chunks", "Done", "Failed", "Peak mem", "Exit reason"],
      history.map((h) =>
        el(
          "tr",
          {},
          el("td", {}, ago(Date.now() - Date.parse(h.finishedAt))),
          el("td", {}, h.jobType),
          el("td", {}, h.hostId),
          num(`${(h.durationMs / 1000).toFixed(1)}s`),
          num(h.chunks),
          num(h.itemsDone),
          num(h.itemsFailed),
          num(bytes(h.peakMemoryBytes)),
          el("td", { class: "wrap" }, h.exitReason, h.error ? el("span", { class: "muted" }, ` — ${h.error}`) : null),
        ),
      ),
    ),
  );
}

function renderDead(lists) {
  const withDead = lists.filter((l) => l.items.length > 0);
  if (withDead.length === 0) return fill("dead", el("p", { class: "muted" }, "No dead letters."));
  fill(
    "dead",
    ...withDead.map((l) =>
      el(
        "div",
        { class: "dead-type", "data-dead-type": l.type },
        el(
          "h3",
          {},
          `${l.type} `,
          el(
            "span",
            { class: "muted" },
            `(${l.total} dead${l.total > l.items.length ? `, newest ${l.items.length} shown` : ""}) `,
          ),
          el("button", { "data-action": "retry", onclick: () => act(`${typePath(l.type)}/dead/retry`) }, "Retry all"),
          " ",
          el(
            "button",
            {
              class: "danger",
              "data-action": "purge",
              onclick: () => act(`${typePath(l.type)}/dead/purge`, `Delete every dead item of ${l.type} for good?`),
            },
            "Purge all",
          ),
        ),
        table(
          ["ID", "Died", "Attempts", "Error", "Payload"],
          l.items.map((d) =>
            el(
              "tr",
              {},
              el("td", {}, d.id),
              el("td", {}, ago(Date.now() - d.diedAt)),
              num(d.attempts),
              el(
                "td",
                { class: "wrap error" },
                d.error ?? "-",
                d.how ? el("span", { class: "muted" }, ` (${d.how})`) : null,
              ),
              el("td", { class: "wrap muted" }, JSON.stringify(d.payload).slice(0, 120)),
            ),
          ),
        ),
      ),
    ),
  );
}

/** A line chart of `values` (one a minute) as inline SVG. */
function spark(values, cls) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 300 60");
  svg.setAttribute("preserveAspectRatio", "none");
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? 300 / (values.length - 1) : 300;
  const line = document.createElementNS(SVG, "polyline");
  line.setAttribute("class", cls);
  line.setAttribute(
    "points",
    values.map((v, i) => `${(i * step).toFixed(1)},${(58 - (v / max) * 56).toFixed(1)}`).join(" "),
  );
  svg.append(line);
  return { svg, max };
}

function renderCharts(series) {
  if (!METRICS) return fill("charts", el("p", { class: "muted" }, "metrics not available"));
  if (series.length === 0) return fill("charts", el("p", { class: "muted" }, "No job types yet."));
  fill(
    "charts",
    el(
      "div",
      { class: "charts" },
      series.map((s) => {
        const now = Math.floor(Date.now() / 60000);
        const byMinute = new Map(s.points.map((p) => [p.minute, p]));
        const minutes = Array.from({ length: s.minutes }, (_, i) => now - s.minutes + 1 + i);
        const done = minutes.map((m) => byMinute.get(m)?.done ?? 0);
        const latency = minutes.map((m) => {
          const p = byMinute.get(m);
          return p && p.runCount > 0 ? p.runMsSum / p.runCount : 0;
        });
        const d = spark(done, "done");
        const l = spark(latency, "latency");
        return el(
          "div",
          { class: "chart", "data-chart": s.type },
          el("strong", {}, s.type),
          el("div", { class: "muted" }, `items done a minute (max ${d.max})`),
          d.svg,
          el("div", { class: "muted" }, `mean chunk run time, ms (max ${Math.round(l.max)})`),
          l.svg,
        );
      }),
    ),
  );
}

let running = false;

async function refresh() {
  if (running) return;
  running = true;
  try {
    const [status, workers] = await Promise.all([getJson("/api/status"), getJson("/api/workers")]);
    const names = status.jobTypes.map((t) => t.name);
    let series = [];
    if (METRICS) {
      series = await Promise.all(
        names.map((n) => getJson(`/api/metrics?type=${encodeURIComponent(n)}&minutes=60`).catch(() => null)),
      );
      series = series.filter(Boolean);
    }
    const ages = Object.fromEntries(series.map((s) => [s.type, s.oldestPendingAgeMs]));
    const dead = await Promise.all(
      status.jobTypes
        .filter((t) => t.dead)
        .map((t) =>
          getJson(`${typePath(t.name)}/dead?limit=10`).then((r) => ({ type: t.name, total: t.dead, items: r.items })),
        ),
    );
    const load = status.load
      ? `load ${status.load.level} (${status.load.value.toFixed(2)} over ${status.load.hosts} hosts)`
      : "no load level yet";
    document.getElementById("summary").textContent =
      `${status.leader ? `leader ${status.leader}` : "no leader"} · ${load} · updated ${new Date(status.at).toLocaleTimeString()}`;
    const problems = document.getElementById("problems");
    problems.hidden = status.problems.length === 0;
    problems.textContent = status.problems.join("\n");
    renderTypes(status.jobTypes, ages);
    renderCharts(series);
    renderHosts(status.hosts);
    renderWorkers(workers.workers);
    renderHistory(status.history);
    renderDead(dead);
  } catch (err) {
    if (err.status === 401) {
      window.location.reload();
      return;
    }
    showError(`cannot refresh: ${err.message}`);
  } finally {
    running = false;
  }
}

refresh();
setInterval(refresh, EVERY_MS);
