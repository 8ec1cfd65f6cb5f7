/**
 * The snapshot inspector: one static page plus a script that talks to the JSON API (so it shows
 * exactly what API clients get). Overview, a shard-size chart (inline SVG), key lookup with the
 * routing decision, and history with rollback for holders of the admin token. Data is inserted
 * with textContent only, never as HTML. Tokens stay in the tab's sessionStorage.
 */

export const INSPECTOR_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>shardy inspector</title>
<link rel="stylesheet" href="/ui/app.css">
</head>
<body>
<header>
  <h1>shardy <span>inspector</span></h1>
  <label>snapshot <select id="snapshot" data-testid="snapshot-select"></select></label>
  <label>read token <input id="read-token" type="password" autocomplete="off" placeholder="(if required)"></label>
  <label>admin token <input id="admin-token" data-testid="admin-token" type="password" autocomplete="off" placeholder="(for rollback)"></label>
</header>
<div id="status" role="status" data-testid="status"></div>
<main>
  <section class="card" id="overview-card">
    <h2>Overview</h2>
    <dl id="overview" data-testid="overview"></dl>
  </section>
  <section class="card" id="chart-card">
    <h2>Shard sizes</h2>
    <div id="chart" data-testid="shard-chart"></div>
    <p class="hint" id="chart-note"></p>
  </section>
  <section class="card" id="lookup-card">
    <h2>Key lookup</h2>
    <form id="lookup-form" data-testid="lookup-form">
      <input id="lookup-key" data-testid="lookup-key" placeholder="key" required>
      <select id="lookup-encoding" data-testid="lookup-encoding">
        <option value="utf8">utf8</option><option value="base64">base64</option><option value="hex">hex</option>
      </select>
      <input id="lookup-context" data-testid="lookup-context" placeholder='routing context, e.g. {"region":"eu"}' hidden>
      <button type="submit" data-testid="lookup-submit">Look up</button>
    </form>
    <dl id="lookup-result" data-testid="lookup-result"></dl>
  </section>
  <section class="card" id="history-card">
    <h2>History</h2>
    <table data-testid="history">
      <thead><tr><th>#</th><th>run id</th><th>published</th><th></th><th></th></tr></thead>
      <tbody id="history-rows"></tbody>
    </table>
    <p class="hint">Rolling back moves <code>_CURRENT</code> to an older manifest (admin token required).</p>
  </section>
</main>
<script src="/ui/app.js"></script>
</body>
</html>
`;

export const INSPECTOR_CSS = `:root { --fg: #1d2433; --muted: #6b7280; --line: #e5e7eb; --accent: #2563eb; --bg: #f6f7f9; --bad: #b91c1c; --ok: #15803d; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; flex-wrap: wrap; gap: 12px 20px; align-items: center; padding: 12px 20px; background: #fff; border-bottom: 1px solid var(--line); }
header h1 { font-size: 18px; margin: 0 12px 0 0; }
header h1 span { color: var(--muted); font-weight: 400; }
label { color: var(--muted); display: inline-flex; gap: 6px; align-items: center; }
input, select, button { font: inherit; padding: 5px 8px; border: 1px solid var(--line); border-radius: 6px; background: #fff; color: var(--fg); }
button { background: var(--accent); color: #fff; border-color: var(--accent); cursor: pointer; }
button:disabled { background: #cbd5e1; border-color: #cbd5e1; cursor: not-allowed; }
button.danger { background: var(--bad); border-color: var(--bad); }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 16px; padding: 16px 20px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px; min-width: 0; }
.card h2 { font-size: 15px; margin: 0 0 10px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 14px; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; font-family: ui-monospace, Menlo, monospace; font-size: 13px; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 5px 6px; border-bottom: 1px solid var(--line); font-size: 13px; }
td.mono { font-family: ui-monospace, Menlo, monospace; }
.tag { display: inline-block; padding: 1px 7px; border-radius: 999px; background: #dcfce7; color: var(--ok); font-size: 12px; }
.hint { color: var(--muted); font-size: 12px; margin: 8px 0 0; }
#status { padding: 0 20px; min-height: 0; }
#status.error, #status.info { margin: 10px 20px 0; padding: 8px 12px; border-radius: 8px; }
#status.error { background: #fee2e2; color: var(--bad); }
#status.info { background: #e0ecff; color: #1e3a8a; }
form { display: flex; flex-wrap: wrap; gap: 8px; margin-bottom: 12px; }
#lookup-key { flex: 1 1 160px; }
#lookup-context { flex: 1 1 100%; }
svg text { font: 11px system-ui, sans-serif; fill: var(--muted); }
svg rect.bar { fill: var(--accent); }
svg rect.bar.empty { fill: #cbd5e1; }
svg rect.bar.hit { fill: #f59e0b; }
`;

export const INSPECTOR_JS = `"use strict";
(function () {
  var $ = function (id) { return document.getElementById(id); };
  var state = { name: null, info: null, shards: [], routedShard: null };

  function token(kind) { return sessionStorage.getItem("shardy-" + kind) || ""; }
  ["read", "admin"].forEach(function (kind) {
    var input = $(kind + "-token");
    input.value = token(kind);
    input.addEventListener("change", function () {
      sessionStorage.setItem("shardy-" + kind, input.value.trim());
      if (kind === "read") loadSnapshots(); else renderHistoryButtons();
    });
  });

  function setStatus(text, kind) {
    var el = $("status");
    el.textContent = text || "";
    el.className = text ? (kind || "info") : "";
  }

  function api(path, options) {
    options = options || {};
    var headers = { accept: "application/json" };
    var t = options.admin ? token("admin") : (token("read") || token("admin"));
    if (t) headers.authorization = "Bearer " + t;
    if (options.body !== undefined) headers["content-type"] = "application/json";
    return fetch(path, { method: options.method || "GET", headers: headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body) })
      .then(function (res) {
        return res.text().then(function (text) {
          var data = null;
          try { data = text ? JSON.parse(text) : null; } catch (e) { data = { error: text }; }
          return { status: res.status, ok: res.ok, data: data };
        });
      });
  }

  function fail(r) {
    var msg = (r.data && r.data.error) || ("HTTP " + r.status);
    throw new Error(msg);
  }

  function bytes(n) {
    if (n < 1024) return n + " B";
    var units = ["KiB", "MiB", "GiB", "TiB"];
    var v = n, i = -1;
    do { v /= 1024; i++; } while (v >= 1024 && i < units.length - 1);
    return v.toFixed(v < 10 ? 2 : 1) + " " + units[i];
  }

  function int(n) { return Number(n).toLocaleString("en-US"); }

  function fillList(dl, rows) {
    dl.textContent = "";
    rows.forEach(function (row) {
      var dt = document.createElement("dt");
      dt.textContent = row[0];
      var dd = document.createElement("dd");
      dd.textContent = row[1];
      if (row[2]) dd.setAttribute("data-testid", row[2]);
      dl.appendChild(dt);
      dl.appendChild(dd);
    });
  }

  function routingText(info) {
    var s = info.sharding;
    if (s.strategy === "cel") {
      var txt = "CEL: " + s.cel_expr;
      if (s.routing_values) txt += " (" + s.routing_values.length + " routing values)";
      return txt;
    }
    return "hash: " + s.hash_algorithm + "(key) % " + info.num_dbs;
  }

  function renderOverview(info) {
    fillList($("overview"), [
      ["run id", info.run_id, "ov-run-id"],
      ["created", info.created_at, "ov-created"],
      ["shards", int(info.num_dbs) + " (" + int(info.non_empty_shards) + " non-empty)", "ov-shards"],
      ["rows", int(info.row_count), "ov-rows"],
      ["bytes", bytes(info.db_bytes) + " (" + int(info.db_bytes) + ")", "ov-bytes"],
      ["backend", info.backend, "ov-backend"],
      ["routing", routingText(info), "ov-routing"],
      ["key encoding", info.key_encoding, "ov-key-encoding"],
      ["manifest", info.manifest_ref, "ov-manifest"],
      ["store", info.server.store_reachable ? "reachable" : "unreachable (serving the loaded snapshot)", "ov-store"]
    ]);
    $("lookup-context").hidden = info.sharding.strategy !== "cel";
  }

  var SVG = "http://www.w3.org/2000/svg";
  function el(name, attrs, text) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function renderChart(shards) {
    var box = $("chart");
    box.textContent = "";
    var W = 640, H = 220, left = 58, bottom = 26, top = 10, right = 8;
    var max = shards.reduce(function (m, s) { return Math.max(m, s.db_bytes); }, 0) || 1;
    var svg = el("svg", { viewBox: "0 0 " + W + " " + H, width: "100%", role: "img",
      "aria-label": "bytes per shard", "data-shards": shards.length });
    var plotW = W - left - right, plotH = H - top - bottom;
    svg.appendChild(el("line", { x1: left, y1: top + plotH, x2: W - right, y2: top + plotH, stroke: "#9ca3af" }));
    [0, 0.5, 1].forEach(function (f) {
      var y = top + plotH - f * plotH;
      svg.appendChild(el("text", { x: left - 6, y: y + 4, "text-anchor": "end" }, bytes(Math.round(max * f))));
      if (f > 0) svg.appendChild(el("line", { x1: left, y1: y, x2: W - right, y2: y, stroke: "#eef0f3" }));
    });
    var slot = plotW / Math.max(1, shards.length);
    var every = Math.ceil(shards.length / 16);
    shards.forEach(function (s, i) {
      var h = Math.max(s.db_bytes > 0 ? 1 : 0, (s.db_bytes / max) * plotH);
      var x = left + i * slot + slot * 0.12;
      var cls = "bar" + (s.db_bytes === 0 ? " empty" : "") + (state.routedShard === s.db_id ? " hit" : "");
      var rect = el("rect", { class: cls, x: x, y: top + plotH - h, width: Math.max(1, slot * 0.76), height: h,
        "data-db-id": s.db_id, "data-bytes": s.db_bytes });
      rect.appendChild(el("title", {}, "db " + s.db_id + ": " + bytes(s.db_bytes) + ", " + int(s.row_count) + " rows"));
      svg.appendChild(rect);
      if (i % every === 0) {
        svg.appendChild(el("text", { x: left + i * slot + slot / 2, y: H - 8, "text-anchor": "middle" }, String(s.db_id)));
      }
    });
    box.appendChild(svg);
    var rows = shards.map(function (s) { return s.row_count; });
    var total = rows.reduce(function (a, b) { return a + b; }, 0);
    $("chart-note").textContent = shards.length + " shards, " + int(total) + " rows; largest " + bytes(max) +
      ". Bars: shard.db bytes (hover for rows); orange = the shard of the last lookup.";
  }

  function renderHistory(data) {
    var body = $("history-rows");
    body.textContent = "";
    data.manifests.forEach(function (m) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-run-id", m.run_id);
      var cells = [String(m.offset), m.run_id, m.published_at];
      cells.forEach(function (text, i) {
        var td = document.createElement("td");
        td.textContent = text;
        if (i === 1) td.className = "mono";
        tr.appendChild(td);
      });
      var cur = document.createElement("td");
      if (m.current) { var tag = document.createElement("span"); tag.className = "tag"; tag.textContent = "current"; cur.appendChild(tag); }
      tr.appendChild(cur);
      var act = document.createElement("td");
      if (!m.current) {
        var btn = document.createElement("button");
        btn.textContent = "Roll back";
        btn.className = "rollback";
        btn.setAttribute("data-testid", "rollback-" + m.run_id);
        btn.addEventListener("click", function () { rollbackTo(btn, m); });
        act.appendChild(btn);
      }
      tr.appendChild(act);
      body.appendChild(tr);
    });
    renderHistoryButtons();
  }

  function renderHistoryButtons() {
    var admin = token("admin") !== "";
    Array.prototype.forEach.call(document.querySelectorAll("button.rollback"), function (b) {
      b.disabled = !admin;
      b.title = admin ? "" : "enter the admin token to roll back";
    });
  }

  function rollbackTo(btn, m) {
    if (btn.getAttribute("data-armed") !== "1") {
      btn.setAttribute("data-armed", "1");
      btn.textContent = "Confirm rollback";
      btn.className = "rollback danger";
      return;
    }
    btn.disabled = true;
    setStatus("rolling back to run " + m.run_id + " ...");
    api("/v1/" + encodeURIComponent(state.name) + "/rollback", { method: "POST", admin: true, body: { ref: m.ref } })
      .then(function (r) {
        if (!r.ok) fail(r);
        setStatus("rolled back: now serving run " + r.data.run_id, "info");
        return loadSnapshot(state.name, true);
      })
      .catch(function (e) {
        setStatus("rollback failed: " + e.message, "error");
        btn.removeAttribute("data-armed");
        btn.textContent = "Roll back";
        btn.className = "rollback";
        btn.disabled = false;
      });
  }

  function lookup(ev) {
    ev.preventDefault();
    var key = $("lookup-key").value;
    var enc = $("lookup-encoding").value;
    var q = "?value_encoding=" + encodeURIComponent(enc);
    var ctx = $("lookup-context").value.trim();
    if (ctx && !$("lookup-context").hidden) q += "&routing_context=" + encodeURIComponent(ctx);
    var base = "/v1/" + encodeURIComponent(state.name);
    var k = encodeURIComponent(key);
    Promise.all([api(base + "/route/" + k + q), api(base + "/get/" + k + q)]).then(function (rs) {
      var route = rs[0], got = rs[1];
      if (!route.ok) fail(route);
      if (!got.ok && got.status !== 404) fail(got);
      if (got.status === 404 && !(got.data && got.data.found === false)) fail(got);
      var shard = route.data.shard || {};
      state.routedShard = route.data.db_id;
      fillList($("lookup-result"), [
        ["key", key, "lk-key"],
        ["routing", state.info.sharding.strategy === "cel" ? "CEL expression" : "xxh3_64(key) % " + route.data.num_dbs, "lk-routing"],
        ["shard", "db " + route.data.db_id, "lk-db-id"],
        ["shard rows", shard.row_count === undefined ? "" : int(shard.row_count), "lk-shard-rows"],
        ["shard url", shard.db_url || "(empty shard)", "lk-shard-url"],
        ["found", got.data.found ? "yes" : "no", "lk-found"],
        ["value (" + enc + ")", got.data.found ? got.data.value : "(none)", "lk-value"]
      ]);
      renderChart(state.shards);
      setStatus("");
    }).catch(function (e) {
      fillList($("lookup-result"), [["error", e.message, "lk-error"]]);
    });
  }

  function loadSnapshot(name, keepStatus) {
    state.name = name;
    if (location.hash !== "#" + name) history.replaceState(null, "", "#" + encodeURIComponent(name));
    var base = "/v1/" + encodeURIComponent(name);
    return Promise.all([api(base + "/info"), api(base + "/shards"), api(base + "/history?limit=20")])
      .then(function (rs) {
        if (!rs[0].ok) fail(rs[0]);
        if (!rs[1].ok) fail(rs[1]);
        state.info = rs[0].data;
        state.shards = rs[1].data.shards;
        renderOverview(state.info);
        renderChart(state.shards);
        // History needs the store (it lists manifests); the rest is served from memory, so an
        // unreachable store still leaves the overview, the chart and lookups working.
        if (rs[2].ok) renderHistory(rs[2].data);
        else renderHistory({ manifests: [] });
        document.body.setAttribute("data-loaded", name);
        if (!rs[2].ok) setStatus("history unavailable: " + ((rs[2].data && rs[2].data.error) || rs[2].status), "error");
        else if (!keepStatus) setStatus("");
      })
      .catch(function (e) { setStatus(e.message, "error"); });
  }

  function loadSnapshots() {
    return api("/v1").then(function (r) {
      if (!r.ok) fail(r);
      var select = $("snapshot");
      select.textContent = "";
      r.data.snapshots.forEach(function (s) {
        var o = document.createElement("option");
        o.value = s.name;
        o.textContent = s.name + (s.loaded ? "" : " (not loaded)");
        select.appendChild(o);
      });
      var wanted = decodeURIComponent(location.hash.slice(1));
      var names = r.data.snapshots.map(function (s) { return s.name; });
      var name = names.indexOf(wanted) >= 0 ? wanted : names[0];
      if (!name) { setStatus("this server serves no snapshot", "error"); return; }
      select.value = name;
      return loadSnapshot(name);
    }).catch(function (e) { setStatus(e.message, "error"); });
  }

  $("snapshot").addEventListener("change", function (ev) { state.routedShard = null; loadSnapshot(ev.target.value); });
  $("lookup-form").addEventListener("submit", lookup);
  loadSnapshots();
})();
`;
