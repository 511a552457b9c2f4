// printstation web console. No framework, no build step, nothing loaded from elsewhere.
// Every piece of data reaches the page through textContent / attributes, never as HTML.
"use strict";

(function () {
  const $ = (sel, root) => (root || document).querySelector(sel);
  const byId = (id) => document.getElementById(id);
  const REPRINTABLE = new Set(["done", "failed", "interrupted", "canceled"]);
  const CANCELABLE = new Set(["queued", "interrupted"]);

  // el("td", {class: "x", data: {job: 1}}, "text", childNode, …)
  function el(tag, attrs, ...kids) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "data") for (const [dk, dv] of Object.entries(v)) node.dataset[dk] = String(dv);
      else if (k === "text") node.textContent = String(v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const kid of kids) {
      if (kid === null || kid === undefined || kid === false) continue;
      node.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    }
    return node;
  }

  function localTime(value) {
    if (value === null || value === undefined || value === "") return "";
    const d = typeof value === "number" ? new Date(value * 1000) : new Date(value);
    if (isNaN(d.getTime())) return String(value);
    const today = new Date();
    const time = d.toLocaleTimeString([], {hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false});
    return d.toDateString() === today.toDateString() ? time : d.toLocaleDateString() + " " + time;
  }

  // -- talking to the station ----------------------------------------------------------------
  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  async function call(method, path, body, type) {
    const init = {method, credentials: "same-origin", headers: {}};
    if (body !== undefined) {
      init.body = body;
      init.headers["Content-Type"] = type || "application/json";
    }
    const resp = await fetch(path, init);
    let data = null;
    try { data = await resp.json(); } catch (e) { data = null; }
    if (resp.status === 401) { showLogin(); throw new ApiError(401, (data && data.error) || "log in first"); }
    if (!resp.ok) throw new ApiError(resp.status, (data && data.error) || ("HTTP " + resp.status));
    return data;
  }

  let noticeTimer = 0;
  function notice(text, bad) {
    const n = byId("notice");
    n.textContent = text;
    n.classList.toggle("bad", !!bad);
    n.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => { n.hidden = true; }, 8000);
  }

  async function act(what, fn) {
    try {
      const out = await fn();
      refresh();
      return out;
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401)) notice(what + ": " + e.message, true);
      return null;
    }
  }

  // -- login -----------------------------------------------------------------------------------
  function showLogin() {
    if (source) source.close();  // nothing to listen to until logged in
    source = null;
    clearTimeout(pollTimer);
    byId("login").hidden = false;
    byId("main").hidden = true;
    setLive("login", "log in");
  }

  byId("login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const input = $("input[name=token]", ev.target);
    try {
      await call("POST", "/login", JSON.stringify({token: input.value}));
      input.value = "";
      byId("login").hidden = true;
      byId("main").hidden = false;
      refresh();
      connect();
    } catch (e) {
      notice("log in: " + e.message, true);
    }
  });

  byId("logout").addEventListener("click", async () => {
    try { await call("POST", "/logout", "{}"); } catch (e) { /* shown by the next refresh */ }
    showLogin();
  });

  // -- rendering ---------------------------------------------------------------------------------
  function renderStrip(state) {
    const strip = byId("strip");
    const parts = [];
    for (const [name, c] of Object.entries(state.today || {})) {
      parts.push(el("span", {class: "count", data: {today: name}},
        el("b", {text: name}), " done ", el("span", {class: "n ok", text: c.done}),
        " · failed ", el("span", {class: "n" + (c.failed ? " bad" : ""), text: c.failed}),
        " · reprints ", el("span", {class: "n", text: c.reprints})));
    }
    const markets = Object.entries(state.markets || {});
    if (!markets.length) parts.push(el("span", {class: "count muted", text: "marketplaces: no calls yet"}));
    for (const [name, m] of markets) {
      parts.push(el("span", {class: "count" + (m.errors ? " warn" : ""), data: {market: name}},
        el("b", {text: name}), " calls " + m.calls + " · errors " + m.errors + " · 429s " + m.rate_limited,
        m.last_error ? el("span", {class: "last", text: " · last error " + localTime(m.last_error_at) + ": " + m.last_error}) : null));
    }
    strip.replaceChildren(el("span", {class: "muted", text: "today"}), ...parts);
  }

  function printerCard(p) {
    const state = p.paused ? "paused" : p.state;
    const card = el("article", {class: "card state-" + state, data: {printer: p.name}},
      el("header", {},
        el("h3", {text: p.name}), p.default ? el("span", {class: "badge", text: "default"}) : null,
        el("span", {class: "state", data: {state}, text: state})),
      p.reason ? el("p", {class: "reason", text: p.reason}) : null,
      el("dl", {},
        el("dt", {text: "uri"}), el("dd", {class: "uri", text: p.uri}),
        el("dt", {text: "lang"}), el("dd", {text: String(p.lang).toUpperCase() + " · " + p.dpi + " dpi"}),
        el("dt", {text: "media"}), el("dd", {text: p.media}),
        el("dt", {text: "queued"}), el("dd", {class: "queued", text: p.queued}),
        el("dt", {text: "printing"}), el("dd", {text: p.current_job === null || p.current_job === undefined ? "–" : "job " + p.current_job})),
      el("div", {class: "actions"},
        el("button", {type: "button", data: {action: "pause"}, class: p.paused ? "on" : null, text: "pause"}),
        el("button", {type: "button", data: {action: "resume"}, text: "resume"}),
        el("button", {type: "button", data: {action: "test"}, text: "test print"})));
    return card;
  }

  function renderPrinters(printers) {
    byId("printers").replaceChildren(...printers.map(printerCard));
    for (const sel of [$("select[name=printer]"), $("select[name=filter-printer]")]) {
      const keep = sel.value;
      const first = sel.name === "filter-printer" ? [el("option", {value: "", text: "all"})] : [];
      sel.replaceChildren(...first, ...printers.map((p) => el("option", {value: p.name, text: p.name})));
      if (keep && printers.some((p) => p.name === keep)) sel.value = keep;
      else if (sel.name === "printer") sel.value = (printers.find((p) => p.default) || printers[0] || {}).name || "";
    }
  }

  const thumbs = new Map();  // job id → thumbnail node (a job's bytes never change)

  function zoom(node) {
    byId("zoom-body").replaceChildren(node);
    const d = byId("zoom");
    if (!d.open) d.showModal();
  }

  function labelsBadge(info) {
    return info.labels > 1 ? el("span", {class: "labels", text: info.labels + " labels"}) : null;
  }

  function fieldsList(info, full) {
    const shown = full ? info.fields : info.fields.slice(0, 3);
    const many = info.labels > 1;
    return el("div", {class: "fields"},
      el("p", {class: "native", text: info.note}),
      labelsBadge(info),
      el("ul", {}, ...shown.map((f) => el("li", {},
        full && many ? el("span", {class: "muted", text: "label " + f.label + " · "}) : null,
        el("span", {class: "kind", text: f.kind}), " ",
        el("span", {class: "data", text: f.data})))),
      !full && info.fields.length > 3 ? el("p", {class: "muted", text: "+" + (info.fields.length - 3) + " more"}) : null);
  }

  // Every label of a job, enlarged: page k is preview.png?page=k (the first without a query).
  function allLabels(job, src, count) {
    if (count <= 1) return el("img", {class: "big", src, alt: "label of job " + job.id});
    return el("div", {class: "pages"}, ...Array.from({length: count}, (_, i) => el("figure", {},
      el("img", {class: "big", src: i ? src + "?page=" + (i + 1) : src, alt: "label " + (i + 1) + " of job " + job.id}),
      el("figcaption", {class: "muted", text: "label " + (i + 1) + " of " + count}))));
  }

  function thumbnail(job) {
    if (thumbs.has(job.id)) return thumbs.get(job.id);
    let node;
    const fields = "/jobs/" + encodeURIComponent(job.id) + "/fields";
    if (job.preview === "png") {
      const src = "/jobs/" + encodeURIComponent(job.id) + "/preview.png";
      const img = el("img", {class: "thumb", src, alt: "label of job " + job.id, loading: "lazy"});
      let count = 1;
      img.addEventListener("error", () => {
        img.replaceWith(el("span", {class: "nopreview", text: "no preview"}));
      }, {once: true});
      img.addEventListener("load", () => {  // the preview's conversion is kept: counting costs nothing
        call("GET", fields).then((info) => {
          count = info.labels || 1;
          const badge = labelsBadge(info);
          if (badge) node.append(badge);
        }).catch(() => {});
      }, {once: true});
      img.addEventListener("click", () => zoom(allLabels(job, src, count)));
      node = el("div", {class: "thumbbox"}, img);
    } else if (job.preview === "fields") {
      node = el("button", {type: "button", class: "thumbbox zpl", data: {preview: "fields"}},
        el("span", {class: "native", text: "ZPL · printed natively by the printer"}));
      call("GET", fields).then((info) => {
        node.replaceChildren(fieldsList(info, false));
        node.addEventListener("click", () => zoom(fieldsList(info, true)));
      }).catch(() => {});
    } else {
      node = el("span", {class: "nopreview", text: "no preview"});
    }
    thumbs.set(job.id, node);
    return node;
  }

  const jobRows = new Map();  // job id → {row, sig}

  function jobRow(j) {
    const source = j.source + (j.source_ref ? " " + j.source_ref : "") + (j.reprint_of ? " · reprint of #" + j.reprint_of : "");
    const times = [["queued", j.created], ["sent", j.sent], ["done", j.done]].filter(([, t]) => t)
      .map(([k, t]) => el("div", {}, el("span", {class: "muted", text: k + " "}), localTime(t)));
    return el("tr", {data: {job: j.id, state: j.state}, id: "job-" + j.id},
      el("td", {class: "thumbcell"}, thumbnail(j)),
      el("td", {class: "id"}, el("b", {text: "#" + j.id}), el("div", {class: "muted", text: j.printer})),
      el("td", {class: "name"}, el("div", {class: "jobname", text: j.name || "–"}), el("div", {class: "muted source", text: source})),
      el("td", {class: "copies", text: "×" + (j.copies === null ? 1 : j.copies)}),
      el("td", {class: "jobstate"}, el("span", {class: "state", data: {state: j.state}, text: j.state}),
        j.error ? el("div", {class: "error", text: j.error}) : null),
      el("td", {class: "times"}, ...times),
      el("td", {class: "actions"},
        REPRINTABLE.has(j.state) ? el("button", {type: "button", data: {action: "reprint"}, text: "reprint"}) : null,
        CANCELABLE.has(j.state) ? el("button", {type: "button", data: {action: "cancel"}, text: "cancel"}) : null));
  }

  function renderJobs(jobs) {
    const body = byId("jobs");
    const seen = new Set();
    const rows = jobs.map((j) => {
      seen.add(j.id);
      const sig = j.updated + "|" + j.state;
      const have = jobRows.get(j.id);
      if (have && have.sig === sig) return have.row;
      const row = jobRow(j);
      jobRows.set(j.id, {row, sig});
      return row;
    });
    for (const id of [...jobRows.keys()]) if (!seen.has(id)) jobRows.delete(id);
    if (!rows.length) rows.push(el("tr", {}, el("td", {colspan: 7, class: "muted", text: "no jobs"})));
    body.replaceChildren(...rows);
  }

  function renderScans(state) {
    const body = byId("scans");
    if (!state.scanning) {
      body.replaceChildren(el("tr", {}, el("td", {colspan: 5, class: "muted", text: "scan triggers are not running"})));
      return;
    }
    const rows = state.scans.map((s) => el("tr", {data: {scan: s.id, outcome: s.outcome}},
      el("td", {class: "time", text: localTime(s.ts)}),
      el("td", {class: "code"}, el("div", {class: "scancode", text: s.code}), el("div", {class: "muted", text: s.scanner + (s.printer ? " → " + s.printer : "")})),
      el("td", {}, el("div", {class: "outcome", text: s.outcome}),
        el("div", {class: "muted", text: (s.action || "–") + (s.ref && s.ref !== s.code ? " " + s.ref : "")})),
      el("td", {}, Number.isInteger(s.job) ? el("a", {href: "#job-" + s.job, text: "#" + s.job}) : ""),
      el("td", {class: "detail", text: s.detail || ""})));
    if (!rows.length) rows.push(el("tr", {}, el("td", {colspan: 5, class: "muted", text: "no scans yet"})));
    body.replaceChildren(...rows);
  }

  // -- refresh -----------------------------------------------------------------------------------
  let inFlight = false;
  let again = false;

  async function refresh() {
    if (inFlight) { again = true; return; }
    inFlight = true;
    try {
      do {
        again = false;
        const q = new URLSearchParams();
        const fp = $("select[name=filter-printer]").value;
        const fs = $("select[name=filter-state]").value;
        if (fp) q.set("printer", fp);
        if (fs) q.set("state", fs);
        const state = await call("GET", "/console/state" + (q.toString() ? "?" + q : ""));
        byId("login").hidden = true;
        byId("main").hidden = false;
        byId("logout").hidden = !state.auth;
        renderStrip(state);
        renderPrinters(state.printers);
        renderJobs(state.jobs);
        renderScans(state);
        document.body.dataset.loaded = "1";
      } while (again);
    } catch (e) {
      if (!(e instanceof ApiError)) setLive("down", "station not answering");
    } finally {
      inFlight = false;
    }
  }

  // -- live updates --------------------------------------------------------------------------------
  let source = null;
  let pollTimer = 0;

  function setLive(state, text) {
    const n = byId("live");
    n.dataset.live = state;
    n.textContent = text;
  }

  function poll() {  // while the event stream is down: refresh every second, retry the stream
    clearTimeout(pollTimer);
    pollTimer = setTimeout(() => {
      if (!byId("login").hidden || (source && source.readyState === EventSource.OPEN)) return;
      refresh();
      if (!source || source.readyState === EventSource.CLOSED) connect();
      poll();
    }, 1000);
  }

  function connect() {
    if (source) source.close();
    source = new EventSource("/events");
    source.addEventListener("open", () => setLive("live", "live"));
    source.addEventListener("hello", () => { setLive("live", "live"); refresh(); });
    source.addEventListener("change", () => refresh());
    source.addEventListener("error", () => {
      if (!byId("login").hidden) return;
      setLive("reconnecting", "reconnecting…");
      poll();
    });
  }

  // -- actions -----------------------------------------------------------------------------------------
  document.addEventListener("click", (ev) => {
    const button = ev.target.closest("button[data-action]");
    if (!button) return;
    const action = button.dataset.action;
    const card = button.closest("[data-printer]");
    const row = button.closest("[data-job]");
    if (action === "close") { byId("zoom").close(); return; }
    if (card && (action === "pause" || action === "resume" || action === "test")) {
      const name = card.dataset.printer;
      act(action + " " + name, async () => {
        const out = await call("POST", "/printers/" + encodeURIComponent(name) + "/" + action);
        if (action === "test") notice("test label queued on " + name + (out && out.id ? " as job " + out.id : ""));
        return out;
      });
    } else if (row && (action === "reprint" || action === "cancel")) {
      const id = row.dataset.job;
      act(action + " job " + id, async () => {
        const out = await call("POST", "/jobs/" + encodeURIComponent(id) + "/" + action);
        notice(action === "reprint" ? "job " + id + " reprinted as job " + out.id : "job " + id + " canceled");
        return out;
      });
    }
  });

  async function upload(files) {
    const printer = $("select[name=printer]").value;
    const copies = $("input[name=copies]").value;
    for (const file of files) {
      const q = new URLSearchParams({name: file.name});
      if (printer) q.set("printer", printer);
      if (copies && copies !== "1") q.set("copies", copies);
      await act("print " + file.name, async () => {
        const job = await call("POST", "/jobs?" + q, file, "application/octet-stream");
        notice(file.name + ": job " + job.id + " " + job.state + (job.warning ? " — " + job.warning : ""), !!job.warning);
        return job;
      });
    }
  }

  byId("upload-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const input = $("input[name=label]");
    if (!input.files.length) { notice("choose a label file first", true); return; }
    upload([...input.files]).then(() => { input.value = ""; });
  });

  byId("scan-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const input = $("input[name=code]");
    const code = input.value.trim();
    if (!code) return;
    const rec = await act("scan", () => call("POST", "/scan", JSON.stringify({code})));
    if (rec) {
      const out = byId("scan-result");
      out.textContent = code + " → " + rec.outcome + (rec.job ? " (job " + rec.job + ")" : "") + (rec.detail ? ": " + rec.detail : "");
      out.dataset.outcome = rec.outcome;
      out.hidden = false;
      input.value = "";
    }
    input.focus();
  });

  byId("filter").addEventListener("change", () => refresh());
  byId("filter").addEventListener("submit", (ev) => ev.preventDefault());

  // drag-and-drop anywhere on the page: the same as the upload button
  let depth = 0;
  const dropHint = byId("drop");
  const hasFiles = (ev) => ev.dataTransfer && [...ev.dataTransfer.types].includes("Files");
  document.addEventListener("dragenter", (ev) => { if (hasFiles(ev)) { depth++; dropHint.hidden = false; } });
  document.addEventListener("dragleave", () => { depth = Math.max(0, depth - 1); if (!depth) dropHint.hidden = true; });
  document.addEventListener("dragover", (ev) => { if (hasFiles(ev)) ev.preventDefault(); });
  document.addEventListener("drop", (ev) => {
    if (!hasFiles(ev)) return;
    ev.preventDefault();
    depth = 0;
    dropHint.hidden = true;
    upload([...ev.dataTransfer.files]);
  });

  // with [api] token_file set, ask for the token before anything else (no 401s to begin with)
  call("GET", "/login").then((s) => {
    if (s.required && !s.ok) showLogin();
    else { refresh(); connect(); }
  }).catch(() => { refresh(); connect(); });
})();
