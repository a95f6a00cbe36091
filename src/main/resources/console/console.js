// Turnout console: reads and acts through the control API (/admin) with the credential signed in.
// No framework and no build step: the DOM is built with h(), which only ever sets text, so nothing
// a record or a reason holds is parsed as markup.

const STAGES = ["legacy", "dual_write", "shadow", "live", "rampdown", "complete", "retired"];
const CREDENTIAL = "turnout.console.credential";
const OIDC_FLOW = "turnout.console.oidc";
const POLL_MS = 2000;
const POLL_BUSY_MS = 1000;
// longest the page waits for one answer; the next poll tries again
const ANSWER_MS = 15000;

const state = { settings: null, me: null, timer: null, page: null };

// ---- DOM helpers ------------------------------------------------------------------------------

function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  if (children.length) fill(el, ...children);
  return el;
}

function fill(el, ...children) {
  el.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false)
    .map((c) => (typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c)));
  return el;
}

const $ = (id) => document.getElementById(id);
const num = (n) => (n === null || n === undefined ? "–" : Number(n).toLocaleString("en"));
const label = (stage) => (stage || "–").replace("_", " ");

function when(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  return d.toLocaleString("en-GB", { hour12: false });
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return s + " s";
  if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s";
  return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
}

function showAlert(text) {
  const a = $("alert");
  a.hidden = !text;
  a.textContent = text || "";
}

// ---- the control API ----------------------------------------------------------------------------

class Problem extends Error {
  constructor(status, body) {
    super(body && (body.detail || body.title) ? (body.detail || body.title) : "HTTP " + status);
    this.status = status;
    this.body = body;
  }
}

async function api(path, options = {}) {
  const headers = { Accept: "application/json" };
  const credential = sessionStorage.getItem(CREDENTIAL);
  if (credential) headers.Authorization = "Bearer " + credential;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method: options.method || "GET",
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      cache: "no-store",
      signal: AbortSignal.timeout(ANSWER_MS),
    });
  } catch (e) {
    throw new Problem(0, { detail: e.name === "TimeoutError" ? "Turnout did not answer within " + ANSWER_MS / 1000 + " s; trying again"
      : "Turnout could not be reached (" + e.message + "); trying again" });
  }
  const text = await response.text();
  const body = text ? JSON.parse(text) : null;
  if (response.status === 401 && !options.signingIn) {
    signOut("Your session has ended: sign in again.");
    throw new Problem(401, body);
  }
  if (!response.ok) throw new Problem(response.status, body);
  return body;
}

// ---- signing in ---------------------------------------------------------------------------------

async function start() {
  $("sign-out").addEventListener("click", () => signOut());
  window.addEventListener("hashchange", route);
  document.addEventListener("visibilitychange", () => { if (!document.hidden && state.page) schedule(0); });
  try {
    state.settings = await api("/console/config.json", { signingIn: true });
  } catch (e) {
    showAlert("The console could not read its settings: " + e.message);
    return;
  }
  if (state.settings.oidc && new URLSearchParams(location.search).has("code")) await finishOidc();
  if (state.settings.auth === "off" || sessionStorage.getItem(CREDENTIAL)) {
    if (await whoAmI()) return route();
  }
  signInPage();
}

async function whoAmI() {
  try {
    state.me = await api("/admin/me", { signingIn: true });
  } catch (e) {
    sessionStorage.removeItem(CREDENTIAL);
    state.me = null;
    signInPage(e.status === 403 ? "This credential has no role for the control API."
      : e.status === 401 ? "That credential is not valid." : "Turnout did not answer: " + e.message);
    return false;
  }
  fill($("who"), "Signed in as ", h("b", { text: state.me.name }), " (" + (state.me.roles.join(", ") || "no role") + ")");
  $("sign-out").hidden = state.settings.auth === "off";
  return true;
}

function signOut(message) {
  sessionStorage.removeItem(CREDENTIAL);
  state.me = null;
  stopPolling();
  fill($("who"));
  $("sign-out").hidden = true;
  signInPage(message);
}

function signInPage(message) {
  stopPolling();
  state.page = null;
  fill($("crumbs"));
  showAlert(null);
  const oidc = state.settings && state.settings.oidc;
  const input = h("input", { id: "credential", type: "password", autocomplete: "off", required: true });
  const form = h("form", {
    class: "card signin",
    onsubmit: async (event) => {
      event.preventDefault();
      const value = input.value.trim();
      if (!value) return;
      sessionStorage.setItem(CREDENTIAL, value);
      if (await whoAmI()) route();
    },
  },
  h("h1", { text: "Sign in" }),
  h("p", { class: "muted", text: "The console shows and does what the control API lets your credential see and do." }),
  message ? h("p", { class: "error", role: "alert", text: message }) : null,
  oidc ? h("div", { class: "row" }, h("button", { type: "button", class: "primary", id: "oidc-sign-in", onclick: beginOidc },
    "Sign in with " + new URL(oidc.issuer).host)) : null,
  h("label", { for: "credential", text: state.settings && state.settings.auth === "oidc" ? "Or paste an access token" : "API key" }),
  input,
  h("div", { class: "row" }, h("button", { type: "submit", class: oidc ? null : "primary", id: "sign-in" }, "Sign in")));
  fill($("main"), form);
  input.focus();
}

function randomText(bytes) {
  const a = crypto.getRandomValues(new Uint8Array(bytes));
  return btoa(String.fromCharCode(...a)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

async function discovery(issuer) {
  const r = await fetch(issuer.replace(/\/$/, "") + "/.well-known/openid-configuration");
  if (!r.ok) throw new Error("the OIDC provider's discovery document answered " + r.status);
  return r.json();
}

// OIDC authorization code flow with PKCE: the console is a public client and keeps the token in this tab only.
async function beginOidc() {
  const oidc = state.settings.oidc;
  try {
    const meta = await discovery(oidc.issuer);
    const verifier = randomText(48);
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
    const challenge = btoa(String.fromCharCode(...new Uint8Array(digest))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    const flow = { verifier, state: randomText(24), hash: location.hash };
    sessionStorage.setItem(OIDC_FLOW, JSON.stringify(flow));
    const url = new URL(meta.authorization_endpoint);
    url.search = new URLSearchParams({
      response_type: "code", client_id: oidc.clientId, redirect_uri: redirectUri(), scope: oidc.scope,
      state: flow.state, code_challenge: challenge, code_challenge_method: "S256",
    }).toString();
    location.assign(url.toString());
  } catch (e) {
    signInPage("Signing in with the OIDC provider failed: " + e.message);
  }
}

function redirectUri() {
  return location.origin + location.pathname;
}

async function finishOidc() {
  const params = new URLSearchParams(location.search);
  const flow = JSON.parse(sessionStorage.getItem(OIDC_FLOW) || "null");
  sessionStorage.removeItem(OIDC_FLOW);
  history.replaceState(null, "", redirectUri() + (flow && flow.hash ? flow.hash : "#/"));
  if (!flow || params.get("state") !== flow.state) {
    showAlert("The sign-in answer did not match this tab's request: sign in again.");
    return;
  }
  try {
    const meta = await discovery(state.settings.oidc.issuer);
    const r = await fetch(meta.token_endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code", code: params.get("code"), redirect_uri: redirectUri(),
        client_id: state.settings.oidc.clientId, code_verifier: flow.verifier,
      }),
    });
    const token = await r.json();
    if (!r.ok || !token.access_token) throw new Error(token.error_description || token.error || "no access token");
    sessionStorage.setItem(CREDENTIAL, token.access_token);
  } catch (e) {
    showAlert("Signing in with the OIDC provider failed: " + e.message);
  }
}

// ---- pages and polling ----------------------------------------------------------------------------

function route() {
  if (!state.me) return signInPage();
  showAlert(null);
  const match = location.hash.match(/^#\/domains\/([A-Za-z0-9_-]+)$/);
  state.page = match ? domainPage(match[1]) : overviewPage();
  state.page.refresh().then(() => $("main").focus({ preventScroll: true }));
  schedule(POLL_MS);
}

function stopPolling() {
  clearTimeout(state.timer);
  state.timer = null;
}

function schedule(ms) {
  stopPolling();
  state.timer = setTimeout(async () => {
    const page = state.page;
    if (!page) return;
    if (!document.hidden) await page.refresh();
    if (page === state.page) schedule(page.busy && page.busy() ? POLL_BUSY_MS : POLL_MS);
  }, ms);
}

async function guarded(work) {
  try {
    await work();
    showAlert(null);
  } catch (e) {
    if (e.status !== 401) showAlert(e.message);
  }
}

function track(applied, desired, big) {
  const at = STAGES.indexOf(applied);
  return h("ol", { class: "track" + (big ? " big" : ""), "aria-label": "applied " + label(applied) + ", desired " + label(desired) },
    STAGES.map((s, i) => h("li", {
      class: [i < at ? "passed" : "", s === applied ? "applied" : "", s === desired ? "desired" : ""].join(" ").trim(),
      dataset: { stage: s },
      title: s === applied && s === desired ? "applied and desired" : s === applied ? "applied" : s === desired ? "desired" : null,
    }, label(s))));
}

function gateList(gates) {
  return h("ul", { class: "gates" }, (gates || []).map((g) => h("li", { class: g.pass ? "pass" : "fail", dataset: { gate: g.name }, title: evidence(g.evidence) },
    h("b", { text: g.name }), ": " + g.why)));
}

/** A gate's evidence as "name: value" lines, for its tooltip. */
function evidence(e) {
  if (!e || !Object.keys(e).length) return null;
  return Object.entries(e).map(([k, v]) => k + ": " + (typeof v === "object" ? JSON.stringify(v) : v)).join("\n");
}

/**
 * The stages one step forward and one back from the applied one that a stage request may name:
 * retired is reached through retirement, and there is no way back from it.
 */
function neighbours(applied) {
  const at = STAGES.indexOf(applied);
  return {
    next: at >= 0 && at + 1 < STAGES.indexOf("retired") ? STAGES[at + 1] : null,
    back: at > 0 && applied !== "retired" ? STAGES[at - 1] : null,
  };
}

function flagNotice(m) {
  return h("div", { class: "notice", text: "Flag " + m.flag + " " + m.flagProblem + ": the stage holds where it is." });
}

function nextStepCell(m) {
  if (m.flagProblem) return flagNotice(m);
  if (!m.nextStep) return h("span", { class: "muted", text: m.desired ? "At its desired stage" : "No desired stage" });
  const s = m.nextStep;
  return h("div", {},
    h("div", {}, h("b", { text: label(s.from) + " → " + label(s.to) }), " ",
      h("span", { class: "pill " + (s.ready ? "ok" : "bad"), text: s.ready ? "gates pass" : "waiting" }),
      s.heldSince ? h("span", { class: "small muted", text: " held since " + when(s.heldSince) }) : null),
    gateList(s.gates));
}

/** Whether a backfill run is copying (running or throttled), so its progress moves. */
function copying(run) {
  return !!run && ["running", "throttled"].includes(run.state);
}

function backfillCell(runs) {
  const run = [runs.forward, runs.reverse].filter(Boolean).sort((a, b) => b.run - a.run)[0];
  if (!run) return h("span", { class: "muted", text: "–" });
  return h("div", { class: "small" }, run.direction + " " + run.state + ", " + run.percent + " %",
    h("div", { class: "progress" + (run.state === "done" ? " done" : ""), role: "progressbar", "aria-valuenow": String(run.percent),
      "aria-valuemin": "0", "aria-valuemax": "100", "aria-label": run.direction + " backfill" }, bar(run.percent)));
}

function bar(percent) {
  const inner = h("div", {});
  inner.style.width = percent + "%";
  return inner;
}

function outboxCell(o) {
  if (!o) return "–";
  return h("div", { class: "small" }, num(o.depth) + " waiting", o.depth ? ", oldest " + duration(o.oldestAgeSeconds) : "",
    o.parked ? h("div", {}, h("span", { class: "pill bad", text: num(o.parked) + " parked" })) : null);
}

function breakerCell(m) {
  if (!m.search) return h("span", { class: "muted", text: "–" });
  const b = m.search.breaker;
  return h("span", { class: "pill " + (b === "closed" ? "ok" : b === "open" ? "bad" : "warn"), text: m.search.origin + ": " + b.replace("_", " ") });
}

function replicasCell(m) {
  const list = m.replicas || [];
  if (!list.length) return h("span", { class: "muted", text: "none live" });
  return h("ul", { class: "gates" }, list.map((r) => h("li", { class: r.stage === m.applied ? "" : "fail" },
    (r.host || r.id) + (r.self ? " (this)" : "") + ": " + label(r.stage) + (r.state !== "live" ? " [" + r.state + "]" : ""))));
}

// ---- overview -------------------------------------------------------------------------------------

function overviewPage() {
  fill($("crumbs"), h("span", { text: "Overview" }));
  const body = h("tbody", {});
  fill($("main"),
    h("h1", { text: "Domains" }),
    h("p", { class: "muted", text: "Where every domain stands, what its next step waits for, and how its copies keep up. Updates every few seconds." }),
    h("div", { class: "card" }, h("table", { id: "domains" },
      h("thead", {}, h("tr", {}, ["Domain", "Stage (applied ■, desired □)", "Next step and its gates", "Backfill", "Outbox", "Search", "Replicas"]
        .map((t) => h("th", { scope: "col", text: t })))),
      body)));
  return {
    refresh: () => guarded(async () => {
      const all = await api("/admin/migrations");
      fill(body, all.domains.map((m) => h("tr", { dataset: { domain: m.domain } },
        h("th", { scope: "row" }, h("a", { href: "#/domains/" + m.domain, text: m.domain })),
        h("td", {}, track(m.applied, m.desired)),
        h("td", {}, nextStepCell(m)),
        h("td", {}, backfillCell(m.backfill)),
        h("td", {}, outboxCell(m.outbox)),
        h("td", {}, breakerCell(m)),
        h("td", {}, replicasCell(m)))));
    }),
  };
}

// ---- confirmation ---------------------------------------------------------------------------------

function confirmAction({ title, text, action, needsReason, perform }) {
  const dialog = $("confirm");
  fill($("confirm-title"), title);
  fill($("confirm-text"), text);
  $("confirm-ok").textContent = action;
  const reason = $("confirm-reason");
  reason.value = "";
  reason.hidden = !needsReason;
  $("confirm-reason-label").hidden = !needsReason;
  const error = $("confirm-error");
  error.hidden = true;
  const form = dialog.querySelector("form");
  form.onsubmit = async (event) => {
    if (event.submitter && event.submitter.value !== "ok") return;
    event.preventDefault();
    if (needsReason && !reason.value.trim()) {
      error.textContent = "Say why: the reason goes into the audit trail.";
      error.hidden = false;
      reason.focus();
      return;
    }
    $("confirm-ok").disabled = true;
    try {
      await perform(reason.value.trim());
      dialog.close("ok");
      if (state.page) await state.page.refresh();
    } catch (e) {
      error.textContent = e.message;
      error.hidden = false;
    } finally {
      $("confirm-ok").disabled = false;
    }
  };
  dialog.showModal();
  (needsReason ? reason : $("confirm-ok")).focus();
}

// ---- a domain ---------------------------------------------------------------------------------------

function card(id, title, ...children) {
  return h("section", { class: "card", id, "aria-labelledby": id + "-title" }, h("h2", { id: id + "-title", text: title }), ...children);
}

function numbers(pairs) {
  return h("div", { class: "numbers" }, pairs.map(([name, value, key]) => h("div", { dataset: { count: key || name } }, h("b", { text: value }), h("span", { text: name }))));
}

function shadowChart(history) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", "chart");
  svg.setAttribute("viewBox", "0 0 600 120");
  svg.setAttribute("role", "img");
  const byMinute = new Map();
  for (const p of history || []) {
    const e = byMinute.get(p.minute) || { compared: 0, confirmed: 0 };
    e.compared += p.compared;
    e.confirmed += p.confirmed;
    byMinute.set(p.minute, e);
  }
  const now = Date.now();
  const points = [...byMinute.entries()].map(([minute, e]) => ({ t: Date.parse(minute), rate: e.compared ? 1 - e.confirmed / e.compared : 1, ...e }))
    .filter((p) => now - p.t <= 3600e3).sort((a, b) => a.t - b.t);
  const x = (t) => 30 + ((t - (now - 3600e3)) / 3600e3) * 560;
  const lowest = Math.min(0.99, ...points.map((p) => p.rate));
  const y = (r) => 10 + (1 - (r - lowest) / (1 - lowest || 1)) * 90;
  const add = (tag, attrs, text) => {
    const el = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    if (text) el.textContent = text;
    svg.appendChild(el);
    return el;
  };
  add("line", { class: "axis", x1: 30, y1: 100, x2: 590, y2: 100 });
  add("text", { x: 0, y: 14 }, "100%");
  add("text", { x: 0, y: 104 }, (lowest * 100).toFixed(lowest > 0.999 ? 2 : 1) + "%");
  add("text", { x: 30, y: 116 }, "60 min ago");
  add("text", { x: 560, y: 116 }, "now");
  const title = points.length
    ? "Match rate per minute over the last hour; latest " + (points[points.length - 1].rate * 100).toFixed(2) + "% of " + num(points[points.length - 1].compared)
    : "No shadow comparisons in the last hour";
  svg.setAttribute("aria-label", title);
  if (points.length > 1) add("polyline", { class: "line", points: points.map((p) => x(p.t).toFixed(1) + "," + y(p.rate).toFixed(1)).join(" ") });
  for (const p of points) add("circle", { class: p.confirmed ? "dot bad" : "dot", cx: x(p.t).toFixed(1), cy: y(p.rate).toFixed(1), r: 2.5 });
  if (!points.length) add("text", { x: 240, y: 60 }, "no comparisons in the last hour");
  return svg;
}

function domainPage(name) {
  fill($("crumbs"), h("a", { href: "#/", text: "Overview" }), " / ", h("span", { text: name }));
  const acts = state.me.mayAct;
  const approves = state.me.mayApprove;
  const el = {};
  const slot = (key, tag = "div", props = {}) => (el[key] = h(tag, props));
  const button = (key, text, onclick, cls) => (el[key] = h("button", { type: "button", id: key, class: cls, dataset: { action: key }, onclick }, text));
  const view = { verificationOpen: false, verificationRun: null, data: null, note: null };

  fill($("main"),
    h("h1", {}, name),
    slot("track", "div", { id: "stage-track" }),
    slot("facts", "ul", { class: "facts" }),
    slot("flag"),
    h("div", { class: "grid" },
      card("stage", "Stage",
        slot("step"),
        acts ? h("div", {},
          h("h3", { text: "Act" }),
          h("div", { class: "row" }, button("move-next", "Move to next stage", () => requestStage("next")), button("roll-back", "Roll back", () => requestStage("back"), "danger")),
          slot("moveWhy", "div", { id: "move-why" }), slot("backWhy", "div", { id: "back-why" })) : null),
      card("backfill", "Backfill",
        slot("backfillState"),
        h("div", { class: "progress", id: "backfill-progress", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100", "aria-label": "Backfill progress" }, slot("bar")),
        slot("backfillNumbers"),
        acts ? h("div", { class: "row" },
          h("label", { for: "backfill-direction", class: "small", text: "Direction" }),
          slot("direction", "select", { id: "backfill-direction" }),
          h("label", { for: "backfill-rate", class: "small", text: "Rows/s limit" }),
          slot("rate", "input", { id: "backfill-rate", type: "number", min: "1", step: "1", placeholder: "none", class: "narrow" }),
          button("backfill-start", "Start backfill", startBackfill, "primary"),
          button("backfill-pause", "Pause", () => backfillAction("pause")),
          button("backfill-resume", "Resume", () => backfillAction("resume"))) : null,
        h("h3", { text: "Pre-flight checks" }), slot("preflight")),
      card("verification", "Verification",
        slot("verificationSummary"),
        h("div", { class: "row" },
          acts ? button("verify", "Run verification", runVerification, "primary") : null,
          el.toggle = h("button", { type: "button", id: "verification-details", "aria-expanded": "false", onclick: toggleVerification }, "Show differences"),
          acts ? button("repair", "Repair differences", repair) : null),
        slot("verificationDetails", "div", { id: "verification-differences" })),
      card("shadow", "Shadow reads", slot("shadowNumbers"), slot("chart"), h("h3", { text: "Last confirmed mismatches" }), slot("mismatches")),
      card("outbox", "Outbox", slot("outboxNumbers"), slot("parked"), acts ? h("div", { class: "row" }, button("outbox-retry", "Retry parked keys", retryParked)) : null),
      card("replicas", "Replicas", slot("search"), slot("replicaList")),
      card("retirement", "Retirement", slot("retirementState"), slot("checklist"),
        h("div", { class: "row" },
          acts ? button("retire-request", "Request retirement", requestRetirement, "danger") : null,
          approves ? button("retire-approve", "Approve retirement", approveRetirement, "danger") : null)),
      card("audit", "Audit trail", slot("audit"))));

  for (const d of ["forward", "reverse"]) el.direction && el.direction.appendChild(h("option", { value: d, text: d }));

  const base = "/admin/migrations/" + encodeURIComponent(name);
  let next = null;
  let back = null;

  async function requestStage(which) {
    const target = which === "next" ? next : back;
    if (!target) return;
    const m = view.data;
    confirmAction({
      title: (which === "next" ? "Move " : "Roll back ") + name + " to " + label(target) + "?",
      text: "The desired stage becomes " + label(target) + ". Stage control takes the step from " + label(m.applied)
        + " once its gates pass, on every replica together." + (which === "back" ? " Reads and writes go back to the stores of " + label(target) + "." : ""),
      action: which === "next" ? "Move to " + label(target) : "Roll back to " + label(target),
      needsReason: true,
      perform: (reason) => api(base + "/stage", { method: "POST", body: { target, reason } }),
    });
  }

  function startBackfill() {
    const direction = el.direction.value;
    const rate = el.rate.value ? Number(el.rate.value) : null;
    if (rate !== null && !(Number.isInteger(rate) && rate > 0)) {
      showAlert("The rows/s limit must be a positive whole number, or empty for none.");
      el.rate.focus();
      return;
    }
    confirmAction({
      title: "Start a " + direction + " backfill of " + name + "?",
      text: (direction === "forward" ? "Copies every legacy row into the new store." : "Copies every new-store row back into the legacy store.")
        + " Only the store that is not authoritative is written" + (rate ? ", at most " + num(rate) + " rows a second." : ", as fast as the database allows."),
      action: "Start backfill",
      perform: () => api(base + "/backfill", { method: "POST", body: rate ? { direction, rowsPerSecond: rate } : { direction } }),
    });
  }

  function backfillAction(what) {
    return guarded(async () => {
      await api(base + "/backfill/" + what, { method: "POST" });
      await view.refresh();
    });
  }

  function runVerification() {
    return guarded(async () => {
      await api(base + "/verification", { method: "POST" });
      view.verificationOpen = true;
      view.note = null;
      await view.refresh();
    });
  }

  async function toggleVerification() {
    view.verificationOpen = !view.verificationOpen;
    view.verificationRun = null;
    await view.refresh();
  }

  function repair() {
    const run = view.data && view.data.lastVerification;
    if (!run) return;
    confirmAction({
      title: "Repair the differences of verification run " + run.run + "?",
      text: "Each key that differs is copied again from the authoritative store (" + view.data.applied + ") into the other one.",
      action: "Repair",
      perform: async () => {
        const r = await api(base + "/verification/" + run.run + "/repair", { method: "POST" });
        view.note = "Repaired " + num(r.repairedKeys) + " keys of run " + run.run + " from the " + r.from + " store. Run a verification to confirm.";
        view.verificationRun = null;
      },
    });
  }

  function retryParked() {
    return guarded(async () => {
      const r = await api(base + "/outbox/retry", { method: "POST", body: {} });
      showAlert(null);
      await view.refresh();
      return r;
    });
  }

  function requestRetirement() {
    confirmAction({
      title: "Request retirement of " + name + "'s legacy tables?",
      text: "Once another person approves, the legacy tables are archived and then removed. This cannot be undone by a stage request.",
      action: "Request retirement",
      needsReason: true,
      perform: (reason) => api(base + "/retirement", { method: "POST", body: { reason } }),
    });
  }

  function approveRetirement() {
    confirmAction({
      title: "Approve the retirement of " + name + "?",
      text: "The legacy tables are archived, then dropped or renamed, and the domain becomes retired.",
      action: "Approve",
      perform: () => api(base + "/retirement/approve", { method: "POST" }),
    });
  }

  function renderStep(m, moves) {
    fill(el.track, track(m.applied, m.desired, true));
    fill(el.facts,
      h("li", {}, "Applied ", h("b", { text: label(m.applied) }), m.appliedSince ? " since " + when(m.appliedSince) : ""),
      h("li", {}, "Desired ", h("b", { text: label(m.desired) })),
      h("li", {}, "Flag ", h("b", { text: m.flag })),
      h("li", {}, "Legacy: " + m.legacy),
      h("li", {}, "New: " + m.new));
    fill(el.flag, m.flagProblem ? flagNotice(m) : null);
    fill(el.step, h("h3", { text: "Next step toward the desired stage" }), nextStepCell(m));
    if (!acts) return;
    for (const [key, why, target, step, verb] of [["move-next", "moveWhy", next, moves.next, "Move to "], ["roll-back", "backWhy", back, moves.back, "Roll back to "]]) {
      const b = el[key];
      b.hidden = !target;
      if (!target) { fill(el[why]); continue; }
      b.textContent = verb + label(target);
      const failing = step ? step.gates.filter((g) => !g.pass) : [];
      b.disabled = failing.length > 0 || m.desired === target;
      fill(el[why], failing.length ? h("div", {}, h("p", { class: "small error", text: verb + label(target) + " cannot pass yet:" }), gateList(failing)) : null);
    }
  }

  function renderBackfill(m) {
    const runs = m.backfill || {};
    const wanted = el.direction ? el.direction.value : "forward";
    const run = runs[wanted] || runs.forward || runs.reverse;
    const percent = run ? run.percent : 0;
    el.bar.style.width = percent + "%";
    el.bar.parentElement.setAttribute("aria-valuenow", String(percent));
    el.bar.parentElement.classList.toggle("done", !!run && run.state === "done");
    fill(el.backfillState, run
      ? h("p", {}, h("span", { class: "pill " + (run.state === "done" ? "ok" : run.state === "failed" ? "bad" : "warn"), id: "backfill-state", text: run.state }),
        " " + run.direction + " run " + run.run + ", started " + when(run.startedAt) + (run.reason ? ": " + run.reason : ""))
      : h("p", { class: "muted", id: "backfill-state", text: "No backfill has run." }));
    fill(el.backfillNumbers, run ? numbers([
      ["percent", percent + " %", "percent"], ["rows copied", num(run.rowsCopied), "rows"], ["estimated rows", num(run.estimatedRows), "estimated"],
      ["rows/s", num(run.rowsPerSecond), "rate"], ["ETA", run.state === "done" ? "done" : duration(run.etaSeconds), "eta"]]) : null);
    fill(el.preflight, (m.preflight || []).length
      ? h("ul", { class: "gates" }, m.preflight.map((c) => h("li", { class: c.holdsBackfill || c.error ? "fail" : "pass" },
        h("b", { text: c.name }), " (" + c.level + "): " + (c.error ? c.error : num(c.problemRows) + " rows"))))
      : h("p", { class: "muted small", text: "None declared." }));
    if (!acts) return;
    el["backfill-start"].disabled = copying(run);
    el["backfill-pause"].disabled = !copying(run);
    el["backfill-resume"].disabled = !(run && ["paused", "stopped"].includes(run.state));
  }

  async function renderVerification(m) {
    const run = m.lastVerification;
    fill(el.verificationSummary, view.note ? h("p", { class: "notice", id: "repair-note", text: view.note }) : null, run
      ? h("div", {},
        h("p", {}, h("span", { class: "pill " + (run.clean === true ? "ok" : run.clean === false ? "bad" : "warn"), id: "verification-state",
          text: run.state === "done" ? (run.clean ? "clean" : "differences") : run.state }), " run " + run.run + ", started " + when(run.startedAt)),
        numbers([["missing", num(run.missing)], ["extra", num(run.extra)], ["different", num(run.different)],
          ["legacy rows", num(run.legacyRows), "legacy"], ["new rows", num(run.newRows), "new"], ["ranges", num(run.ranges)]]))
      : h("p", { class: "muted", text: "No verification has run." }));
    el.toggle.disabled = !run;
    el.toggle.textContent = view.verificationOpen ? "Hide differences" : "Show differences";
    el.toggle.setAttribute("aria-expanded", String(view.verificationOpen));
    const differs = run && run.state === "done" && !run.clean;
    if (acts) el.repair.disabled = !differs;
    if (!run || !view.verificationOpen) { fill(el.verificationDetails); view.verificationRun = null; return; }
    if (view.verificationRun === run.run + ":" + run.state) return;
    const detail = await api(base + "/verification/" + run.run);
    view.verificationRun = run.run + ":" + run.state;
    fill(el.verificationDetails, detail.differences.length
      ? h("table", {}, h("thead", {}, h("tr", {}, ["Key", "Kind", "Fields", "Repaired"].map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", {}, detail.differences.map((d) => h("tr", { dataset: { key: d.key } }, h("td", { text: d.key }), h("td", { text: d.kind }),
          h("td", { text: d.fields.join(", ") || "–" }), h("td", { text: d.repaired ? "yes" : "no" })))))
      : h("p", { class: "muted", text: run.state === "done" ? "Both stores agree on every key." : "The run is still comparing." }));
  }

  function renderShadow(s) {
    const c = s.comparisons || {};
    fill(el.shadowNumbers, numbers([["compared at " + label(c.stage), num(c.compared), "compared"], ["confirmed mismatches", num(c.confirmedMismatches), "mismatches"],
      ["match rate", c.compared ? ((1 - c.mismatchRate) * 100).toFixed(3) + " %" : "–", "rate"]]));
    fill(el.chart, shadowChart(s.history));
    const last = (s.confirmedMismatches || []).slice(0, 10);
    fill(el.mismatches, last.length
      ? h("table", {}, h("thead", {}, h("tr", {}, ["Key", "Fields", "Stage", "At"].map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", {}, last.map((x) => h("tr", {}, h("td", { text: x.key }), h("td", { text: x.fields.join(", ") }), h("td", { text: x.stage }), h("td", { text: when(x.at) })))))
      : h("p", { class: "muted small", text: "None." }));
  }

  function renderOutbox(o) {
    fill(el.outboxNumbers, numbers([["waiting", num(o.depth)], ["parked", num(o.parked)], ["oldest", o.depth ? duration(o.oldestAgeSeconds) : "–"]]));
    fill(el.parked, o.parkedKeys.length
      ? h("table", {}, h("thead", {}, h("tr", {}, ["Key", "Database", "Attempts", "Error"].map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", {}, o.parkedKeys.slice(0, 20).map((p) => h("tr", {}, h("td", { text: p.key }), h("td", { text: p.database }), h("td", { text: num(p.attempts) }), h("td", { text: p.error || "–" })))))
      : null);
    if (acts) el["outbox-retry"].disabled = !o.parked;
  }

  function renderReplicas(m) {
    fill(el.search, m.search ? h("p", {}, "Search origin ", h("b", { text: m.search.origin }), ": breaker ", breakerCell(m)) : null);
    fill(el.replicaList, (m.replicas || []).length
      ? h("table", {}, h("thead", {}, h("tr", {}, ["Replica", "State", "Routes by"].map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", {}, m.replicas.map((r) => h("tr", {}, h("td", { text: (r.host || r.id) + (r.self ? " (this one)" : "") }), h("td", { text: r.state }),
          h("td", { class: r.stage === m.applied ? "" : "error", text: label(r.stage) })))))
      : h("p", { class: "muted", text: "No live replica is recorded." }));
  }

  function renderRetirement(r, m) {
    const req = r.request;
    fill(el.retirementState, req
      ? h("p", {}, h("span", { class: "pill " + (req.state === "done" ? "ok" : ["failed", "expired"].includes(req.state) ? "bad" : "warn"), id: "retirement-state", text: req.state }),
        " requested by " + req.requestedBy + " " + when(req.requestedAt) + (req.approvedBy ? ", approved by " + req.approvedBy : "") + ": " + req.reason)
      : h("p", { class: "muted", text: "Not requested. Retirement archives and removes the legacy tables once the domain has been complete long enough." }));
    fill(el.checklist, h("ul", { class: "gates" }, (r.checklist || []).map((c) => h("li", { class: c.pass ? "pass" : "fail" }, h("b", { text: c.name }), ": " + c.evidence))));
    const open = req && req.state === "requested";
    if (acts) el["retire-request"].disabled = !!open || m.applied !== "complete";
    if (approves) el["retire-approve"].disabled = !open || req.requestedBy === state.me.name;
  }

  function renderAudit(a) {
    fill(el.audit, a.entries.length
      ? h("table", { id: "audit-entries" }, h("thead", {}, h("tr", {}, ["At", "Who", "What", "Stage", "Reason"].map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", {}, a.entries.map((e) => h("tr", { dataset: { entry: e.action } }, h("td", { text: when(e.at) }), h("td", { text: e.actor }),
          h("td", { text: e.action }), h("td", { text: e.from || e.to ? label(e.from) + " → " + label(e.to) : "" }), h("td", { text: e.reason || "" })))))
      : h("p", { class: "muted", text: "Nothing recorded yet." }));
  }

  view.refresh = () => guarded(async () => {
    const m = await api(base);
    view.data = m;
    ({ next, back } = neighbours(m.applied));
    const gates = (t) => (acts && t ? api(base + "/gates?target=" + t).then((g) => g.step) : Promise.resolve(null));
    const [shadow, outbox, retirement, audit, nextStep, backStep] = await Promise.all([
      api(base + "/shadow"), api(base + "/outbox?limit=20"), api(base + "/retirement"),
      api("/admin/audit?domain=" + encodeURIComponent(name) + "&order=newest&limit=15"), gates(next), gates(back)]);
    if (state.page !== view) return;
    renderStep(m, { next: nextStep, back: backStep });
    renderBackfill(m);
    renderShadow(shadow);
    renderOutbox(outbox);
    renderReplicas(m);
    renderRetirement(retirement, m);
    renderAudit(audit);
    await renderVerification(m);
  });
  view.busy = () => {
    const m = view.data;
    if (!m) return false;
    return copying(m.backfill.forward) || copying(m.backfill.reverse) || (m.lastVerification && m.lastVerification.state === "running") || !!m.nextStep;
  };
  return view;
}

start();
