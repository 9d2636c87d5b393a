// The dunes dashboard: one small module over the REST API (the same routes, keys and checks).
// Views: jobs (live), a job, submit, devices and workers, the graph, MAML.

const main = document.getElementById("main");
const keyInput = document.getElementById("api-key");
keyInput.value = sessionStorage.getItem("dunes-key") || "";
keyInput.addEventListener("change", () => {
  sessionStorage.setItem("dunes-key", keyInput.value.trim());
  route();
});

let stopLive = () => {};

// --- helpers ------------------------------------------------------------------------------------

function headers(extra = {}) {
  const key = sessionStorage.getItem("dunes-key");
  return key ? { ...extra, Authorization: `Bearer ${key}` } : extra;
}

async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: headers(options.body ? { "Content-Type": "application/json" } : {}),
  });
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) {
    const detail = body && body.detail ? body.detail : `${response.status} ${response.statusText}`;
    const error = new Error(response.status === 401 ? `${detail} (enter the API key above)` : detail);
    error.problem = body;
    throw error;
  }
  return body;
}

async function imageUrl(path) {
  const response = await fetch(path, { headers: headers() });
  if (!response.ok) return null;
  return URL.createObjectURL(await response.blob());
}

// Server-Sent Events over fetch, so that the API key can go in a header.
function stream(path, onEvent) {
  const controller = new AbortController();
  (async () => {
    try {
      const response = await fetch(path, { headers: headers(), signal: controller.signal });
      if (!response.ok || !response.body) return;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n?/g, "\n");  // SSE lines may end in CRLF
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = "message", data = "";
          for (const line of block.split("\n")) {
            if (line.startsWith("event:")) event = line.slice(6).trim();
            else if (line.startsWith("data:")) data += line.slice(5).trim();
          }
          if (data) onEvent(event, JSON.parse(data));
        }
      }
    } catch (error) {
      if (error.name !== "AbortError") console.warn("stream ended", error);
    }
  })();
  return () => controller.abort();
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }
  return node;
}

function table(headings, rows) {
  return el("div", { class: "scroll" },
    el("table", {},
      el("thead", {}, el("tr", {}, headings.map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((c) => el("td", {}, c)))))));
}

function status(value) {
  return el("span", { class: `status-${value}`, text: value });
}

function show(...nodes) {
  stopLive();
  stopLive = () => {};
  main.replaceChildren(...nodes.filter((n) => n !== null && n !== undefined));
}

function fill(node, ...children) {
  node.replaceChildren(...children.filter((c) => c !== null && c !== undefined && c !== false));
}

function fail(error) {
  return el("p", { class: "error", role: "alert", text: error.message || String(error) });
}

const FINAL = ["succeeded", "failed", "cancelled"];

function seconds(job) {
  if (!job.created_at) return "";
  const end = job.finished_at ? new Date(job.finished_at) : new Date();
  return `${((end - new Date(job.created_at)) / 1000).toFixed(1)} s`;
}

// --- jobs ---------------------------------------------------------------------------------------

function jobsView() {
  const statusSelect = el("select", { id: "filter-status" },
    ["", "queued", "running", "succeeded", "failed", "cancelled"].map((s) =>
      el("option", { value: s, text: s || "any" })));
  const kindSelect = el("select", { id: "filter-kind" },
    ["", "task", "circuit", "batch", "maml"].map((k) => el("option", { value: k, text: k || "any" })));
  const body = el("div", { id: "jobs" }, el("p", { class: "muted", text: "loading…" }));
  const live = () => {
    stopLive();
    const query = new URLSearchParams();
    if (statusSelect.value) query.set("status", statusSelect.value);
    if (kindSelect.value) query.set("kind", kindSelect.value);
    stopLive = stream(`/v1/jobs/stream?${query}`, (event, page) => {
      if (event !== "jobs") return;
      body.replaceChildren(page.jobs.length === 0
        ? el("p", { class: "muted", text: "no jobs yet: submit one" })
        : table(["job", "kind", "status", "step", "device", "duration", "created"],
          page.jobs.map((j) => [
            el("a", { href: `#/jobs/${j.job_id}`, text: j.job_id.slice(0, 12) }), j.kind,
            status(j.status), j.step || "", j.device || "", seconds(j),
            j.created_at ? new Date(j.created_at).toLocaleTimeString() : ""])));
    });
  };
  statusSelect.addEventListener("change", live);
  kindSelect.addEventListener("change", live);
  show(el("h1", { text: "Jobs" }),
    el("div", { class: "filters" },
      el("div", {}, el("label", { for: "filter-status", text: "Status" }), statusSelect),
      el("div", {}, el("label", { for: "filter-kind", text: "Kind" }), kindSelect)),
    body);
  live();
}

async function jobView(jobId) {
  const head = el("div", {});
  const details = el("div", {});
  const events = el("ol", { id: "events" });
  show(el("h1", {}, "Job ", el("code", { text: jobId.slice(0, 12) })), head, details,
    el("h2", { text: "Events" }), events);
  const render = async () => {
    const job = await api(`/v1/jobs/${jobId}`);
    const cancel = el("button", { class: "danger", id: "cancel", text: "Cancel job",
      onclick: async () => { await api(`/v1/jobs/${jobId}`, { method: "DELETE" }); render(); } });
    fill(head, el("p", {}, "Status: ", status(job.status), ` · ${job.kind} · `,
      job.device || "no device yet", ` · ${seconds(job)}`),
      job.error ? el("p", { class: "error", text: job.error }) : null,
      FINAL.includes(job.status)
        ? el("p", {}, el("a", { href: `#/graph/${job.job_id}`, text: "Open its lineage" }))
        : cancel);
    if (job.status === "succeeded") await result(job, details);
  };
  const stop = stream(`/v1/jobs/${jobId}/events`, (event, data) => {
    if (event === "progress") {
      events.append(el("li", { text: `${data.step} ${Math.round(data.progress * 100)}% ${data.message || ""}` }));
    } else if (event === "end") {
      render();
    }
  });
  stopLive = stop;
  try { await render(); } catch (error) { head.replaceChildren(fail(error)); }
}

async function result(job, into) {
  const data = await api(`/v1/jobs/${job.job_id}/result`);
  const sim = data.simulation || (data.results ? data.results[0] : null);
  const parts = [];
  if (data.plan && data.plan.task) parts.push(el("p", {}, el("strong", { text: "Task: " }), data.plan.task));
  if (data.plan) {
    parts.push(el("p", {}, el("strong", { text: "Plan: " }),
      `${data.plan.family || "(given circuit)"} (confidence ${Number(data.plan.confidence || 0).toFixed(2)}) — ${data.plan.reason || ""}`));
  }
  if (data.circuit) parts.push(el("p", {}, el("strong", { text: "Circuit: " }), el("code", { text: data.circuit })));
  const outputs = Object.entries(data.llm_outputs || {});
  if (outputs.length) {
    parts.push(el("h2", { text: "Agents" }), table(["role", "device", "model", "output"],
      outputs.map(([role, o]) => [role, o.device || "", o.model || "",
        el("pre", { text: JSON.stringify(o.result, null, 1).slice(0, 600) })])));
  }
  const figures = el("div", { class: "row" });
  parts.push(figures);
  const circuitPng = await imageUrl(`/v1/jobs/${job.job_id}/circuit.png`);
  if (circuitPng) figures.append(el("figure", {}, el("img", { class: "figure", src: circuitPng, alt: "The circuit, drawn" }), el("figcaption", { text: "Circuit" })));
  const histogram = await imageUrl(`/v1/jobs/${job.job_id}/histogram.png`);
  if (histogram) figures.append(el("figure", {}, el("img", { class: "figure", src: histogram, alt: "Histogram of the outcomes" }), el("figcaption", { text: "Histogram" })));
  if (sim) {
    const amplitudes = sim.top_amplitudes || (sim.statevector || [])
      .map((a, i) => ({ bitstring: i.toString(2).padStart(sim.num_qubits, "0"), amplitude: a, probability: a[0] * a[0] + a[1] * a[1] }))
      .filter((a) => a.probability > 1e-12).sort((a, b) => b.probability - a.probability).slice(0, 16);
    if (amplitudes.length) {
      parts.push(el("h2", { text: "Top amplitudes" }), table(["basis state", "amplitude", "probability"],
        amplitudes.map((a) => [`|${a.bitstring}⟩`, `${a.amplitude[0].toFixed(4)} ${a.amplitude[1] >= 0 ? "+" : "−"} ${Math.abs(a.amplitude[1]).toFixed(4)}i`, a.probability.toFixed(4)])));
    }
    parts.push(el("p", { class: "muted", text: `${sim.num_qubits} qubits · ${sim.method} on ${sim.device} · ${sim.backend}` }));
  }
  const timings = Object.entries(data.timings || {});
  if (timings.length) {
    parts.push(el("h2", { text: "Timings" }), table(["step", "seconds"], timings.map(([k, v]) => [k, Number(v).toFixed(3)])));
  }
  if (data.report && data.report.text) parts.push(el("h2", { text: "Report" }), el("pre", { text: data.report.text }));
  fill(into, ...parts);
}

// --- submit -------------------------------------------------------------------------------------

function submitView() {
  const task = el("input", { type: "text", id: "task", value: "Design a 4-qubit GHZ state", required: true });
  const taskForm = el("form", { "aria-labelledby": "task-title", onsubmit: async (e) => {
    e.preventDefault();
    try {
      const job = await api("/v1/jobs", { method: "POST", body: JSON.stringify({ task: task.value }) });
      location.hash = `#/jobs/${job.job_id}`;
    } catch (error) { taskForm.append(fail(error)); }
  } }, el("h2", { id: "task-title", text: "A task in words" }),
  el("label", { for: "task", text: "Task" }), task, el("button", { type: "submit", text: "Run task" }));

  const circuit = el("textarea", { id: "circuit", spellcheck: "false", "aria-describedby": "circuit-check" }, "h(0)\ncx(0, 1)\nmeasure");
  const shots = el("input", { type: "number", id: "shots", min: "0", value: "1000" });
  const check = el("p", { id: "circuit-check", class: "muted", "aria-live": "polite" });
  let timer = null;
  const validate = async () => {
    try {
      const found = await api("/v1/circuits/check", { method: "POST", body: JSON.stringify({ circuit: circuit.value }) });
      check.className = found.valid ? "ok" : "error";
      check.textContent = found.valid
        ? `reads as ${found.format}: ${found.num_qubits} qubit(s), ${found.operations} operation(s)`
        : `${found.line ? `line ${found.line}${found.column ? `, column ${found.column}` : ""}: ` : ""}${found.error}`;
      return found.valid;
    } catch (error) { check.className = "error"; check.textContent = error.message; return false; }
  };
  circuit.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(validate, 300); });
  const circuitForm = el("form", { "aria-labelledby": "circuit-title", onsubmit: async (e) => {
    e.preventDefault();
    if (!(await validate())) return;
    try {
      const job = await api("/v1/jobs", { method: "POST", body: JSON.stringify({ circuit: circuit.value, shots: Number(shots.value) }) });
      location.hash = `#/jobs/${job.job_id}`;
    } catch (error) { check.className = "error"; check.textContent = error.message; }
  } }, el("h2", { id: "circuit-title", text: "A circuit" }),
  el("label", { for: "circuit", text: "Seed notation, OpenQASM or JSON" }), circuit, check,
  el("label", { for: "shots", text: "Shots (0: the state)" }), shots,
  el("button", { type: "submit", text: "Simulate as a job" }));

  const sweepCircuit = el("textarea", { id: "sweep-circuit", spellcheck: "false" }, "ry(theta, 0)\ncx(0, 1)\nrz(theta / 2, 1)");
  const grid = el("input", { type: "text", id: "sweep-grid", value: "theta=0:2*pi:41" });
  const observable = el("input", { type: "text", id: "sweep-observable", value: "Z0" });
  const canvas = el("canvas", { id: "sweep-plot", width: "720", height: "320", role: "img", "aria-label": "Expectation value against the parameter" });
  const sweepNote = el("p", { class: "muted", "aria-live": "polite" });
  const sweepForm = el("form", { "aria-labelledby": "sweep-title", onsubmit: async (e) => {
    e.preventDefault();
    sweepNote.className = "muted";
    sweepNote.textContent = "sweeping…";
    try {
      const body = { circuit: sweepCircuit.value, grid: grid.value.split(/\s+/).filter(Boolean), observables: [observable.value] };
      const out = await api("/v1/sweep", { method: "POST", body: JSON.stringify(body) });
      sweepNote.textContent = `${out.bindings} bindings in ${out.elapsed_s.toFixed(3)} s (${Math.round(out.circuits_per_s)} circuits/s)`;
      const name = Object.keys(out.parameters)[0];
      plot(canvas, out.parameters[name] || out.expectation_values[observable.value].map((_, i) => i),
        out.expectation_values[observable.value], name || "binding", `⟨${observable.value}⟩`);
    } catch (error) { sweepNote.className = "error"; sweepNote.textContent = error.message; }
  } }, el("h2", { id: "sweep-title", text: "A parameter sweep" }),
  el("label", { for: "sweep-circuit", text: "Circuit with named parameters" }), sweepCircuit,
  el("label", { for: "sweep-grid", text: "Values (name=START:STOP:COUNT, space between several)" }), grid,
  el("label", { for: "sweep-observable", text: "Observable" }), observable,
  el("button", { type: "submit", text: "Sweep" }), sweepNote, canvas);

  show(el("h1", { text: "Submit" }), el("div", { class: "row" }, taskForm, circuitForm), sweepForm);
  validate();
}

function plot(canvas, xs, ys, xLabel, yLabel) {
  const ctx = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height, pad = 44;
  ctx.clearRect(0, 0, w, h);
  const xmin = Math.min(...xs), xmax = Math.max(...xs);
  const ymin = Math.min(-1, ...ys), ymax = Math.max(1, ...ys);
  const X = (x) => pad + (xmax === xmin ? 0.5 : (x - xmin) / (xmax - xmin)) * (w - 2 * pad);
  const Y = (y) => h - pad - ((y - ymin) / (ymax - ymin)) * (h - 2 * pad);
  ctx.strokeStyle = "#57606a"; ctx.fillStyle = "#1b1f24"; ctx.font = "12px system-ui";
  ctx.beginPath(); ctx.moveTo(pad, pad / 2); ctx.lineTo(pad, h - pad); ctx.lineTo(w - pad / 2, h - pad); ctx.stroke();
  ctx.fillText(xLabel, w / 2, h - 10); ctx.fillText(yLabel, 6, pad / 2);
  ctx.fillText(ymax.toFixed(2), 4, Y(ymax) + 4); ctx.fillText(ymin.toFixed(2), 4, Y(ymin));
  ctx.fillText(xmin.toFixed(2), pad, h - pad + 14); ctx.fillText(xmax.toFixed(2), w - pad - 20, h - pad + 14);
  ctx.strokeStyle = "#0b5cad"; ctx.lineWidth = 2; ctx.beginPath();
  xs.forEach((x, i) => (i ? ctx.lineTo(X(x), Y(ys[i])) : ctx.moveTo(X(x), Y(ys[i]))));
  ctx.stroke();
}

// --- devices and workers ------------------------------------------------------------------------

async function devicesView() {
  show(el("h1", { text: "Devices and workers" }), el("p", { class: "muted", text: "loading…" }));
  try {
    const [devices, workers, queued] = await Promise.all([
      api("/v1/gpus"), api("/v1/workers"), api("/v1/jobs?status=queued&limit=500")]);
    const gib = (b) => `${(b / 2 ** 30).toFixed(1)} GiB`;
    show(el("h1", { text: "Devices and workers" }),
      el("p", { class: "muted", text: `found by ${devices.source}; Aer ${devices.aer.distribution} ${devices.aer.version}${devices.hint ? ` — ${devices.hint}` : ""}` }),
      table(["device", "name", "memory free / total", "utilisation"], devices.devices.map((d) => [
        d.id, d.name, `${gib(d.memory_free)} / ${gib(d.memory_total)}`,
        d.utilization === null || d.utilization === undefined ? "—" : `${Math.round(d.utilization * 100)}%`])),
      el("h2", { text: `Workers (${workers.executor})` }),
      workers.workers.length === 0 ? el("p", { class: "muted", text: workers.note || "none yet" })
        : table(["worker", "queue", "device", "host", "cores", "heartbeat", "job", "jobs run"],
          workers.workers.map((w) => [w.name, w.queue, w.device, w.host, w.cpus || "",
            w.heartbeat_age_s === null || w.heartbeat_age_s === undefined ? (w.alive ? "alive" : "gone") : `${w.heartbeat_age_s.toFixed(1)} s ago`,
            w.job ? el("a", { href: `#/jobs/${w.job}`, text: w.job.slice(0, 12) }) : "", String(w.jobs_run ?? "")])),
      el("h2", { text: "Queue" }),
      el("p", {}, `${queued.jobs.length} job(s) waiting for a worker`));
  } catch (error) { show(el("h1", { text: "Devices and workers" }), fail(error)); }
}

// --- graph --------------------------------------------------------------------------------------

function graphView(nodeId) {
  const query = el("input", { type: "text", id: "graph-query", placeholder: "GHZ state, a job id, …" });
  const hits = el("div", { id: "hits" });
  const canvas = el("div", { id: "graph", role: "img", "aria-label": "Lineage graph" });
  const info = el("div", { id: "node-info", class: "panel" }, el("p", { class: "muted", text: "Click a node to open it." }));
  const form = el("form", { role: "search", onsubmit: async (e) => {
    e.preventDefault();
    const text = query.value.trim();
    if (!text) return;
    try {
      if (/^[0-9a-f@:_-]{6,}$/i.test(text) && !text.includes(" ")) { location.hash = `#/graph/${text}`; return; }
      const found = await api(`/v1/graph/search?${new URLSearchParams({ q: text, top_k: "8" })}`);
      hits.replaceChildren(table(["score", "kind", "node"], found.hits.map((h) => [h.score.toFixed(3), h.node.kind,
        el("a", { href: `#/graph/${h.node.id}`, text: h.node.label || (h.node.data.text || h.node.id).toString().slice(0, 60) })])));
    } catch (error) { hits.replaceChildren(fail(error)); }
  } }, el("label", { for: "graph-query", text: "Search the graph (or a node id)" }), query,
  el("button", { type: "submit", text: "Search" }));
  show(el("h1", { text: "Graph" }), form, hits, el("div", { class: "row" }, canvas, info));
  if (nodeId) drawLineage(nodeId, canvas, info);
}

async function drawLineage(nodeId, canvas, info) {
  try {
    const lineage = await api(`/v1/graph/${nodeId}/lineage?depth=2`);
    const colours = { entity: "#0b5cad", activity: "#116329", agent: "#7d4e00" };
    const elements = [
      ...lineage.nodes.map((n) => ({ data: { id: n.id, label: `${n.kind}\n${(n.label || n.id).slice(0, 18)}`, colour: colours[n.category] || "#57606a", root: n.id === lineage.root ? 1 : 0 } })),
      ...lineage.edges.map((e, i) => ({ data: { id: `e${i}`, source: e.src, target: e.dst, label: e.relation } })),
    ];
    const cy = window.cytoscape({
      container: canvas, elements,
      layout: { name: "breadthfirst", directed: true, spacingFactor: 1.1 },
      style: [
        { selector: "node", style: { label: "data(label)", "background-color": "data(colour)", color: "#1b1f24", "font-size": 10, "text-wrap": "wrap", "text-valign": "bottom", width: 22, height: 22 } },
        { selector: "node[root = 1]", style: { "border-width": 4, "border-color": "#ffb000" } },
        { selector: "edge", style: { label: "data(label)", "font-size": 8, "curve-style": "bezier", "target-arrow-shape": "triangle", width: 1.5, "line-color": "#8c959f", "target-arrow-color": "#8c959f", color: "#57606a" } },
      ],
    });
    window.dunesGraph = cy;
    const open = async (id) => {
      const node = await api(`/v1/graph/${id}`);
      fill(info, el("h2", {}, `${node.kind} `, el("code", { text: node.id.slice(0, 16) })),
        el("p", { class: "muted", text: `${node.category}, ${new Date(node.created_at).toLocaleString()}` }),
        el("pre", { text: JSON.stringify(node.data, null, 1).slice(0, 2000) }),
        el("button", { class: "secondary", text: "Center the lineage here", onclick: () => { location.hash = `#/graph/${id}`; } }),
        node.kind === "job" ? el("p", {}, el("a", { href: `#/jobs/${id}`, text: "Open the job" })) : null);
    };
    cy.on("tap", "node", (event) => open(event.target.id()));
    open(lineage.root);
  } catch (error) { info.replaceChildren(fail(error)); }
}

// --- MAML ---------------------------------------------------------------------------------------

function mamlView() {
  const text = el("textarea", { id: "maml-text", spellcheck: "false", rows: "16" },
    "---\nschema_version: 1.0\nid: urn:dunes:dashboard:bell\ncontext: Bell_Pair\npermissions: { execute: true, write: false }\n---\n# Bell pair\n\n```circuit {name=bell}\nh(0); cx(0,1)\n```\n");
  const out = el("div", { id: "maml-out", "aria-live": "polite" });
  const validate = async () => {
    try {
      const report = await api("/v1/maml/validate", { method: "POST", body: JSON.stringify({ document: text.value }) });
      const findings = [...report.errors.map((f) => ["error", f]), ...report.warnings.map((f) => ["warning", f])];
      fill(out, el("p", { class: report.valid ? "ok" : "error", text: report.valid ? "valid" : "not valid" }),
        findings.length ? table(["", "line", "code", "message"], findings.map(([kind, f]) => [kind, f.line ?? "", f.code, f.message])) : null);
    } catch (error) { out.replaceChildren(fail(error)); }
  };
  const run = async () => {
    try {
      const result = await api("/v1/maml/run", { method: "POST", body: JSON.stringify({ document: text.value }) });
      out.replaceChildren(el("p", {}, "Run ", el("code", { text: result.run_id }), " ", status(result.status === "ok" ? "succeeded" : "failed"), ` ${result.status}`),
        table(["block", "language", "line", "status", "output"], result.blocks.map((b) => [b.name, b.language, String(b.line), b.status,
          el("pre", { text: (b.stdout || b.stderr || b.reason || "").slice(0, 800) })])));
    } catch (error) { out.replaceChildren(fail(error)); }
  };
  show(el("h1", { text: "MAML" }),
    el("form", { onsubmit: (e) => { e.preventDefault(); validate(); } },
      el("label", { for: "maml-text", text: "Document (front matter, Markdown, code blocks)" }), text,
      el("div", { class: "row" }, el("button", { type: "submit", text: "Validate" }),
        el("button", { type: "button", class: "secondary", text: "Run under the execution policy", onclick: run }))),
    out);
}

// --- routing ------------------------------------------------------------------------------------

function route() {
  const hash = location.hash || "#/jobs";
  const [, section, id] = hash.split("/");
  for (const link of document.querySelectorAll("nav a")) {
    if (link.getAttribute("href") === `#/${section}`) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (section === "jobs" && id) jobView(decodeURIComponent(id));
  else if (section === "submit") submitView();
  else if (section === "devices") devicesView();
  else if (section === "graph") graphView(id ? decodeURIComponent(id) : null);
  else if (section === "maml") mamlView();
  else jobsView();
  main.focus({ preventScroll: true });
}

window.addEventListener("hashchange", route);
route();
