/* Inspectors' page: live open-debris list + river map, claim/clear via the work-order API. */
"use strict";

const OPEN = ["new", "confirmed", "dispatched", "on_site"];
const CLASS_COLOURS = { bottle: "#0ea5e9", bag: "#a855f7", foam: "#f59e0b", styrofoam: "#ef4444", vegetation: "#22c55e" };
const store = {
  get name() { return localStorage.getItem("rp.name") || ""; },
  get token() { return localStorage.getItem("rp.token") || ""; },
  get pos() { try { return JSON.parse(localStorage.getItem("rp.pos") || "null"); } catch (e) { return null; } },
  set(k, v) { if (v === null) localStorage.removeItem(k); else localStorage.setItem(k, typeof v === "string" ? v : JSON.stringify(v)); },
};

const items = new Map(); // alert id -> GeoJSON Feature (primary items of open work orders)
let rivers = { type: "FeatureCollection", features: [] };
let flownToday = [];  // today's patrol flights (/api/v1/flights): where the drones looked
let config = { inspectors: [], segments: [] };
let selected = null;
let here = null; // {lon, lat, source: "gps" | "chosen"}
let picking = false;
const $ = (id) => document.getElementById(id);

/* ---------- geometry ---------- */
function distanceM(a, b) {
  const R = 6371008.8, rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad, dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * R * Math.asin(Math.sqrt(h));
}
function fmtDistance(m) {
  return m < 1000 ? t("item.away.m", { n: Math.round(m) }) : t("item.away.km", { n: (m / 1000).toFixed(m < 10000 ? 1 : 0) });
}
function ago(iso) {
  if (!iso) return t("ago.unknown");
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 45) return t("ago.now");
  if (s < 3600) return t("ago.min", { n: Math.round(s / 60) });
  if (s < 86400) return t("ago.h", { n: Math.round(s / 3600) });
  return t("ago.d", { n: Math.round(s / 86400) });
}
function lonlat(f) { const [lon, lat] = f.geometry.coordinates; return { lon, lat }; }
/** The page config's entry of a stretch (name, inspectors, supervisors), if any. */
function segConf(id) { return config.segments.find((x) => x.id === id); }
function segName(id) { const s = segConf(id); return s ? s.name : (id || t("map.off")); }

/* ---------- map (SVG, local equirectangular projection fitted to rivers + items) ---------- */
const SVGNS = "http://www.w3.org/2000/svg";
function el(tag, attrs, parent) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}
function projection(w, h) {
  // Fit the open items (and the inspector); with none, the whole river network.
  const pts = [];
  for (const f of items.values()) pts.push(f.geometry.coordinates);
  if (here) pts.push([here.lon, here.lat]);
  if (!pts.length) for (const f of rivers.features) for (const c of f.geometry.coordinates) pts.push(c);
  if (!pts.length) pts.push([114.0632, 22.5205]);
  let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const [x, y] of pts) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
  const k = Math.cos(((y0 + y1) / 2) * Math.PI / 180);
  const minSpan = 0.006; // ~600 m: never zoom in so far that the river loses its shape
  const spanX = Math.max((x1 - x0) * k, minSpan), spanY = Math.max(y1 - y0, minSpan * 0.6);
  const padX = 28, padTop = 26, padBottom = 52;
  const s = Math.min((w - 2 * padX) / spanX, (h - padTop - padBottom) / spanY);
  const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2, midY = padTop + (h - padTop - padBottom) / 2;
  const fwd = ([lon, lat]) => [w / 2 + (lon - cx) * k * s, midY - (lat - cy) * s];
  const inv = (px, py) => ({ lon: cx + (px - w / 2) / (k * s), lat: cy - (py - midY) / s });
  return { fwd, inv, s, k };
}
let proj = null;
/** An SVG path through projected points. */
function pathD(pts) { return pts.map((p, i) => (i ? "L" : "M") + p.map((v) => v.toFixed(1)).join(",")).join(""); }
function drawMap() {
  const svg = $("map");
  const w = svg.clientWidth || 360, h = svg.clientHeight || 280;
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.replaceChildren();
  proj = projection(w, h);
  const metresPerPx = 1 / (proj.s / 111320);
  // the river as wide as it is (60 m where its width is not known), at least 4 px to stay visible
  const riverPx = (f) => Math.max(4, (f.properties.width_m || 60) / metresPerPx);
  const widthPx = Math.max(4, ...rivers.features.map(riverPx)); // labels go below the widest
  const byRiver = new Map();
  for (const f of rivers.features) {
    const pts = f.geometry.coordinates.map(proj.fwd);
    el("path", { d: pathD(pts), class: "river", "stroke-width": riverPx(f) }, svg);
    const river = f.properties.river || f.properties.name;
    const first = (byRiver.get(river) || [])[0];
    const name = first ? first.name : f.properties.name; // bundled lines come first: the river's own name
    const dense = []; // points along the line, so a label finds a spot even when zoomed in between vertices
    pts.forEach((p, i) => {
      if (i) for (let t = 0.1; t < 1; t += 0.1) dense.push([pts[i - 1][0] + t * (p[0] - pts[i - 1][0]), pts[i - 1][1] + t * (p[1] - pts[i - 1][1])]);
      dense.push(p);
    });
    byRiver.set(river, [...(byRiver.get(river) || []), ...dense.map((p) => ({ p, name }))]);
  }
  // One label per river, at its visible point nearest the middle of the map, below the line.
  for (const [river, pts] of byRiver) {
    const inside = pts.filter(({ p: [x, y] }) => x > 40 && x < w - 110 && y > 20 && y < h - 60);
    if (!inside.length) continue;
    const best = inside.reduce((a, b) => (Math.hypot(a.p[0] - w / 2, a.p[1] - h / 2) < Math.hypot(b.p[0] - w / 2, b.p[1] - h / 2) ? a : b));
    const t = el("text", { x: best.p[0] - 30, y: best.p[1] + widthPx / 2 + 12, class: "river-label" }, svg);
    t.textContent = (best.name || river).replace(/\s+\d+\/\d+$/, "").replace(/\s*\(.*\)$/, "");
  }
  // where the drones flew today, under the finds: a stretch without finds was looked at, or not
  for (const f of flownToday) el("path", { d: pathD(f.geometry.coordinates.map(proj.fwd)), class: "flown", "data-flight": f.id }, svg);
  const times = flownToday.map((f) => new Date(f.properties.armed_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
  el("text", { x: 12, y: h - 48, class: "flown-label" }, svg).textContent =
    times.length ? t("map.flown", { times: times.join(", ") }) : t("map.notflown");
  // scale bar
  const nice = [50, 100, 200, 500, 1000, 2000, 5000].find((m) => m / metresPerPx > 50) || 5000;
  const px = nice / metresPerPx;
  el("path", { d: `M${w - 12 - px},${h - 44}h${px}`, stroke: "#5b6f7c", "stroke-width": 2 }, svg);
  el("text", { x: w - 12 - px, y: h - 48, class: "scale" }, svg).textContent = nice >= 1000 ? `${nice / 1000} km` : `${nice} m`;
  if (here) {
    const [x, y] = proj.fwd([here.lon, here.lat]);
    el("circle", { cx: x, cy: y, r: 7, class: "me" }, svg);
  }
  for (const f of items.values()) {
    const [x, y] = proj.fwd(f.geometry.coordinates);
    const g = el("g", { class: "marker" + (f.id === selected ? " sel" : ""), "data-id": f.id, tabindex: 0 }, svg);
    const colour = CLASS_COLOURS[f.properties.class] || "#64748b";
    el("circle", { cx: x, cy: y, r: 15, class: "halo", stroke: colour }, g);
    el("circle", { cx: x, cy: y, r: 9, class: "pin", fill: colour }, g);
    el("title", {}, g).textContent = `${className(f.properties.class)} · ${segName(f.properties.segment)}`;
    g.addEventListener("click", (ev) => { ev.stopPropagation(); select(f.id, true); });
  }
}
$("map").addEventListener("click", (ev) => {
  if (!picking || !proj) return;
  const r = $("map").getBoundingClientRect();
  const vb = $("map").viewBox.baseVal;
  const p = proj.inv((ev.clientX - r.left) * vb.width / r.width, (ev.clientY - r.top) * vb.height / r.height);
  setHere({ lon: p.lon, lat: p.lat, source: "chosen" });
  store.set("rp.pos", here);
  picking = false;
  $("locate").classList.remove("on");
  toast(t("locate.done"));
});

/* ---------- list ---------- */
function sorted() {
  const all = [...items.values()];
  if (here) return all.sort((a, b) => distanceM(here, lonlat(a)) - distanceM(here, lonlat(b)));
  return all.sort((a, b) => Date.parse(b.properties.last_seen || 0) - Date.parse(a.properties.last_seen || 0));
}
/** Whether the signed-in person supervises ``segment`` (its river chief): they may send someone. */
function supervises(segment) {
  const s = segConf(segment);
  return !!(s && store.name && (s.supervisors || []).includes(store.name));
}
function actionsFor(f) {
  const p = f.properties, mine = p.assignee && p.assignee === store.name;
  // a river chief sends someone, or someone else when an inspector holds it (sick, the far bank)
  const sendText = p.assignee ? t("act.redispatch") : t("act.dispatch");
  const send = supervises(p.segment) ? [["dispatch", sendText, "send"]] : [];
  switch (p.status) {
    case "new":
      return p.review_required
        ? [["confirm", t("act.confirm"), "go"], ["reject", t("act.reject"), "false"]]
        : [["claim", t("act.claim"), "go"], ...send, ["reject", t("act.reject"), "false"]];
    case "confirmed": return [["claim", t("act.claim"), "go"], ...send, ["reject", t("act.reject"), "false"]];
    case "dispatched":
    case "on_site":
      if (mine) {
        return [["clear", t("act.clear"), "done"], ["false_alarm", t("act.false_alarm"), "false"],
          ["release", t("act.release"), "back"], ...send];
      }
      return !p.assignee
        ? [["clear", t("act.clear"), "done"], ["false_alarm", t("act.false_alarm"), "false"]]
        : [["claim-taken", t("act.taken", { name: p.assignee }), ""], ...send];
    default: return [];
  }
}
function renderList() {
  const ul = $("list"), tpl = $("item-tpl");
  const list = sorted();
  const existing = new Map([...ul.children].map((li) => [li.dataset.id, li]));
  const frag = document.createDocumentFragment();
  for (const f of list) {
    const p = f.properties;
    let li = existing.get(f.id);
    const fresh = !li;
    if (!li) {
      li = tpl.content.firstElementChild.cloneNode(true);
      li.dataset.id = f.id;
      li.id = `alert-${f.id}`;
      li.addEventListener("click", (ev) => { if (!ev.target.closest("button")) select(f.id, false); });
      li.querySelector(".thumb").addEventListener("click", () => showPhoto(li.dataset.id));
    }
    existing.delete(f.id);
    const img = li.querySelector(".thumb");
    if (p.thumbnail) { if (img.getAttribute("src") !== p.thumbnail) img.src = p.thumbnail; img.classList.remove("none"); }
    else { img.removeAttribute("src"); img.classList.add("none"); }
    img.alt = t("item.photo", { cls: className(p.class) });
    img.title = t("item.photo.title");
    li.querySelector(".cls").textContent = className(p.class);
    li.querySelector(".conf").textContent = percent(p.confidence);
    const st = li.querySelector(".status");
    st.textContent = I18N[LANG][`status.${p.status}`] || p.status;
    st.className = `status ${p.status}`;
    li.querySelector(".ago").textContent = ago(p.last_seen || p.first_seen);
    li.querySelector(".dist").textContent = here ? fmtDistance(distanceM(here, lonlat(f))) : t("item.distance.unset");
    li.querySelector(".seg").textContent = segName(p.segment) + (p.finds > 1 ? ` · ${t("item.finds", { n: p.finds })}` : "")
      + (p.look_asked_at && !p.look_done_at ? ` · ${t("item.look")}` : "");
    const acts = li.querySelector(".actions");
    const key = JSON.stringify(actionsFor(f));
    if (acts.dataset.key !== key) {
      acts.dataset.key = key;
      acts.replaceChildren(...actionsFor(f).map(([action, label, cls]) => {
        const b = document.createElement("button");
        b.type = "button"; b.textContent = label; b.className = cls; b.dataset.action = action;
        if (action === "claim-taken") b.disabled = true;
        else b.addEventListener("click", () => act(f, action, b));
        return b;
      }));
    }
    li.classList.toggle("sel", f.id === selected);
    if (fresh && booted) li.classList.add("fresh");
    frag.appendChild(li);
  }
  for (const li of existing.values()) li.remove();
  ul.replaceChildren(frag);
  $("count").textContent = String(list.length);
  $("empty").hidden = list.length > 0;
  $("sortinfo").textContent = t(here ? (here.source === "gps" ? "list.nearest.gps" : "list.nearest") : "list.newest");
}
function render() { renderList(); drawMap(); }
function select(id, fromMap) {
  selected = id;
  render();
  const li = document.getElementById(`alert-${id}`);
  if (li && fromMap) li.scrollIntoView({ behavior: "smooth", block: "center" });
}

/* ---------- photo viewer: the wider photo, where exactly, and directions there ---------- */
function percent(confidence) {
  // a detector's score is never certainty: 0.996 reads "99%", not "100%"
  return typeof confidence === "number" ? `${Math.min(99, Math.round(confidence * 100))}%` : "";
}
function isAppleMobile(ua, touchPoints) {
  // iPadOS reports itself as a Mac; only its touch screen tells it apart
  return /iPhone|iPad|iPod/.test(ua) || (/Macintosh/.test(ua) && touchPoints > 1);
}
function geoUri(f) {
  // Android's map apps take RFC 5870 geo: links (WGS 84, what the cloud serves); iOS opens none,
  // so an iPhone gets Apple's map link (https://maps.apple.com, ll = lat,lon, q = the pin's label).
  const { lon, lat } = lonlat(f);
  const ll = `${lat.toFixed(6)},${lon.toFixed(6)}`;
  const label = encodeURIComponent(`${f.properties.class} (RiverPatrol)`);
  if (isAppleMobile(navigator.userAgent, navigator.maxTouchPoints || 0)) {
    return `https://maps.apple.com/?ll=${ll}&q=${label}`;
  }
  return `geo:${ll}?q=${ll}(${label})`;
}
function showPhoto(id) {
  const f = items.get(id);
  if (!f) return;
  const p = f.properties, { lon, lat } = lonlat(f);
  const src = p.context_image || p.thumbnail;
  const img = $("viewer-img");
  if (src) { img.src = src; img.hidden = false; } else { img.removeAttribute("src"); img.hidden = true; }
  img.alt = p.context_image ? t("viewer.wide", { cls: className(p.class) }) : t("item.photo", { cls: className(p.class) });
  const conf = percent(p.confidence) ? ` ${percent(p.confidence)}` : "";
  const cls = className(p.class), name = cls[0].toUpperCase() + cls.slice(1);
  $("viewer-title").textContent = `${name}${conf} · ${ago(p.last_seen || p.first_seen)}`;
  const within = typeof p.uncertainty_m === "number" ? ` (${t("viewer.within", { n: Math.round(p.uncertainty_m) })})` : "";
  $("viewer-where").textContent = `${segName(p.segment)} · ${lat.toFixed(6)}, ${lon.toFixed(6)}${within}`;
  const go = $("viewer-go");
  go.href = geoUri(f);
  if (go.href.startsWith("https:")) { go.target = "_blank"; go.rel = "noopener"; } else go.removeAttribute("target");
  showDrift(f);
  showLook(f);
  $("viewer-look").onclick = () => askLook(id);
  select(id, false);
  $("viewer").showModal();
}

/* ---------- a closer look: the inspector asks the drone operators to fly down to a find ---------- */
function hhmm(iso) { return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }); }
const STILL_MPS = 0.03;  // contract/drift.py: slower than this, the camera's view still holds it
/** How the current was carrying it when last seen: a find minutes old is that far on by now. */
function showDrift(f) {
  const p = f.properties, line = $("viewer-drift");
  const moving = typeof p.drift_speed_mps === "number" && p.drift_speed_mps >= STILL_MPS && p.drift_toward_deg !== null;
  line.hidden = !moving;
  if (!moving) return;
  const points = t("drift.points").split(" ");
  const toward = points[Math.round(p.drift_toward_deg / (360 / points.length)) % points.length];
  const speed = p.drift_speed_mps.toFixed(p.drift_speed_mps < 0.1 ? 2 : 1);
  line.textContent = t("drift.line", { speed, toward, time: hhmm(p.last_seen) });
}
/** Whether one is asked, by whom and when, or when the closer view came; the button while none waits. */
function showLook(f) {
  const p = f.properties, state = $("viewer-look-state");
  const open = !!p.look_asked_at && !p.look_done_at;
  state.hidden = !p.look_asked_at;
  if (p.look_asked_at) {
    state.textContent = open
      ? t("look.asked", { name: p.look_asked_by, time: hhmm(p.look_asked_at) }) + (p.look_note ? ` · “${p.look_note}”` : "")
        + ` · ${p.look_seen_at ? t("look.seen", { time: hhmm(p.look_seen_at) }) : t("look.unseen")}`
      : p.look_outcome === "not_found"
        ? t("look.missed", { time: hhmm(p.look_done_at) }) + (p.look_answer ? `: “${p.look_answer}”` : "")
        : t("look.done", { time: hhmm(p.look_done_at) });
  }
  $("viewer-look").hidden = open;
}
async function askLook(id) {
  const f = items.get(id);
  if (!f) return;
  if (!store.token) { signIn(); return; }
  const note = await askPick("look", ["look.what", "look.size", "look.still"].map((key) => t(key)), "look.label", false);
  if (note === null) return;  // cancelled
  const button = $("viewer-look");
  button.disabled = true;
  try {
    const r = await fetch(`/api/v1/alerts/${encodeURIComponent(id)}/look`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${store.token}` },
      body: JSON.stringify({ note }),
    });
    const out = await r.json().catch(() => ({}));
    if (r.status === 401) { toast(t("err.token")); signIn(); return; }
    if (!r.ok) { toast(out.detail || `HTTP ${r.status}`); return; }
    for (const k of ["look_asked_at", "look_asked_by", "look_note", "look_done_at", "look_seen_at"]) f.properties[k] = out[k];
    toast(t("look.sent"));
    render();
    if (items.get(id) === f) showLook(f);
  } catch (e) {  // no signal: a request for later is no use to the drone in the air now
    toast(t("look.offline"));
  } finally {
    button.disabled = false;
  }
}

/* ---------- data ---------- */
function isOpenPrimary(f) { return f && OPEN.includes(f.properties.status) && !f.properties.merged_into; }
function upsert(f) {
  if (isOpenPrimary(f)) items.set(f.id, f);
  else if (items.has(f.id)) leave(f.id);
}
function leave(id) {
  const li = document.getElementById(`alert-${id}`);
  items.delete(id);
  if (selected === id) selected = null;
  if (li) { li.classList.add("leaving"); setTimeout(render, 300); } else render();
}
let offlineSince = null; // when the list shown was fetched, if it came from this phone's copy
function liveState(on) {
  $("live").classList.toggle("off", !on);
  const waiting = pending.list().length;
  $("live-text").textContent = (on ? t("live")
    : offlineSince ? t("live.offline", { time: offlineSince }) : t("live.reconnecting"))
    + (waiting ? ` · ${t("pending.count", { n: waiting })}` : "");
}
async function loadOpen() {
  const url = `/ogc/collections/debris/items?status=${OPEN.join(",")}&limit=10000`;
  const r = await fetch(url, { headers: { Accept: "application/geo+json" } });
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  const copied = r.headers.get("x-riverpatrol-offline"); // the service worker's copy: no network
  const when = copied && Date.parse(copied);
  offlineSince = copied ? (when ? new Date(when).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "?") : null;
  if (offlineSince) liveState(false);
  const fc = await r.json();
  items.clear();
  for (const f of fc.features) if (isOpenPrimary(f)) items.set(f.id, f);
  for (const a of pending.list()) applyLocally(a.id, a.action, null, a.assignee);  // not yet sent: shown done
  await loadFlights();
  render();
}
/** Today's flights (since local midnight); offline or on error the map keeps what it had. */
async function loadFlights() {
  const midnight = new Date();
  midnight.setHours(0, 0, 0, 0);
  try {
    const r = await fetch(`/api/v1/flights?since=${encodeURIComponent(midnight.toISOString())}`);
    if (r.ok) flownToday = (await r.json()).features;
  } catch (e) { /* no signal: the last copy stays */ }
}
let booted = false;
function connect() {
  const es = new EventSource("/inspector/events");
  es.onopen = () => { liveState(true); flushPending().then(() => loadOpen()).catch((e) => toast(String(e))); };
  es.onerror = () => liveState(false);
  const onEvent = (ev) => {
    const msg = JSON.parse(ev.data);
    const f = msg.feature;
    if (!f) return;
    if (msg.type === "alert.updated" && f.properties.merged_into) {
      const primary = items.get(f.properties.merged_into);
      if (primary) { primary.properties.finds = (primary.properties.finds || 1) + 1; render(); }
      return;
    }
    upsert(f);
    render();
    if ($("viewer").open && selected === f.id && items.has(f.id)) {
      showDrift(items.get(f.id));
      showLook(items.get(f.id));
    }
  };
  for (const t of ["alert.new", "alert.updated", "workorder.changed"]) es.addEventListener(t, onEvent);
}

/* ---------- actions ---------- */
function actionRequest(wo, action, doneAt, { photo, note, assignee } = {}) {
  const body = { actor: store.name };
  let path = action;
  if (action === "false_alarm") { path = "clear"; body.outcome = "false_alarm"; }
  if (action === "clear") body.outcome = "cleared";
  if (doneAt) body.done_at = doneAt;
  if (photo) body.photo_jpeg = photo;
  if (note) body.note = note;
  if (assignee) body.assignee = assignee;
  return fetch(`/api/v1/workorders/${encodeURIComponent(wo)}/${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${store.token}` },
    body: JSON.stringify(body),
  });
}
function applyLocally(id, action, answer, sentTo) {
  const f = items.get(id);
  if (!f) return;
  const back = f.properties.reviewed_by ? "confirmed" : "new";  // where a hand-back leaves it
  const status = answer ? answer.status
    : { claim: "dispatched", dispatch: "dispatched", confirm: "confirmed", arrive: "on_site", release: back }[action]
      || "closed";
  if (!OPEN.includes(status)) { leave(id); return; }
  const assignee = answer ? answer.assignee
    : action === "claim" ? store.name : action === "dispatch" ? sentTo
      : action === "release" ? null : f.properties.assignee;
  Object.assign(f.properties, { status, assignee });
}
async function act(f, action, button) {
  if (!store.token) { signIn(); return; }
  const wo = f.properties.workorder_id || f.id;
  // what the inspector adds: a photo of the cleared spot, why they hand it back, whom they send
  let extra = {};
  if (action === "clear" || action === "dispatch" || action in WHY) {
    extra = await (action === "clear" ? askClearPhoto() : action === "dispatch" ? askWho(f) : askWhy(action));
    if (!extra) return;  // cancelled: nothing is sent
  }
  const { photo, note, assignee } = extra;
  button.disabled = true;
  try {
    const r = await actionRequest(wo, action, null, extra);
    const out = await r.json().catch(() => ({}));
    if (r.status === 401) { toast(t("err.token")); signIn(); return; }
    if (!r.ok) { toast(out.detail || `HTTP ${r.status}`); return; }
    toast(I18N[LANG][`done.${action}`] || t("done.other"));
    applyLocally(f.id, action, out);
    render();
  } catch (e) {  // no signal: keep it on this phone, with when it was done, and send it when there is
    const queued = { id: f.id, wo, action, done_at: new Date().toISOString(), ...(note ? { note } : {}),
      ...(assignee ? { assignee } : {}) };
    let said = "pending.saved";
    if (!pending.add(photo ? { ...queued, photo } : queued)) {  // the phone's storage is full
      said = photo && pending.add(queued) ? "clear.nophoto" : "pending.full";
    }
    if (said === "pending.full") { toast(t(said)); return; }  // nothing kept: the list stays as it was
    applyLocally(f.id, action, null, assignee);
    render();
    toast(t(said));
  } finally {
    button.disabled = false;
  }
}

/* ---------- clearing: the inspector's photo of the clean spot, made small enough for a weak signal ---------- */
const PHOTO_MAX_SIDE = 1600, PHOTO_QUALITY = 0.8;
async function shrinkPhoto(file) {
  const bmp = await createImageBitmap(file, { imageOrientation: "from-image" });
  const s = Math.min(1, PHOTO_MAX_SIDE / Math.max(bmp.width, bmp.height));
  const c = document.createElement("canvas");
  c.width = Math.round(bmp.width * s); c.height = Math.round(bmp.height * s);
  c.getContext("2d").drawImage(bmp, 0, 0, c.width, c.height);
  bmp.close();
  const blob = await new Promise((res) => c.toBlob(res, "image/jpeg", PHOTO_QUALITY));
  const url = await new Promise((res, rej) => {
    const rd = new FileReader();
    rd.onload = () => res(rd.result); rd.onerror = () => rej(rd.error); rd.readAsDataURL(blob);
  });
  return { b64: String(url).split(",", 2)[1], url };
}
/** Resolves {photo: base64 JPEG | null} on Send, null on Cancel. */
function askClearPhoto() {
  const dlg = $("clear-dlg"), input = $("clear-photo"), preview = $("clear-preview");
  let photo = null;
  input.value = ""; preview.hidden = true; preview.removeAttribute("src");
  $("clear-photo-text").textContent = t("clear.photo");
  input.onchange = async () => {
    const file = input.files && input.files[0];
    if (!file) return;
    $("clear-send").disabled = true;
    try {
      const out = await shrinkPhoto(file);
      photo = out.b64; preview.src = out.url; preview.hidden = false;
      $("clear-photo-text").textContent = t("clear.retake");
    } catch (e) {
      photo = null; toast(t("clear.bad", { error: e.message || e }));
    } finally {
      $("clear-send").disabled = false;
    }
  };
  return ask(dlg, $("clear-cancel"), () => ({ photo }));
}
/** Shows ``dlg``; resolves ``answer()`` when its submit button (value "send") closes it, null on
    ``cancel`` or Escape. */
function ask(dlg, cancel, answer) {
  return new Promise((resolve) => {
    cancel.onclick = () => dlg.close("cancel");
    dlg.onclose = () => resolve(dlg.returnValue === "send" ? answer() : null);
    dlg.returnValue = "";
    dlg.showModal();
  });
}

/* Why an inspector hands a find back or calls it a false alarm: kept as the move's note (a
   hand-back's goes to the other inspectors' phones; a false alarm's tells the model's makers). */
const WHY = {
  release: { texts: "back", reasons: ["back.boat", "back.big", "back.reach", "back.shift"] },
  false_alarm: { texts: "false", reasons: ["false.nothing", "false.notdebris", "false.natural", "false.gone"] },
};
WHY.reject = WHY.false_alarm;
/** The pick dialog: ``texts``' title, note and send button, quick ``picks`` that fill its one text
    field (``label``); resolves the field's text on Send, null on Cancel. ``vars`` fill the texts. */
function askPick(texts, picks, label, required, vars) {
  const dlg = $("why-dlg"), field = $("why-text");
  $("why-title").textContent = t(`${texts}.title`, vars);
  $("why-note").textContent = t(`${texts}.note`, vars);
  $("why-send").textContent = t(`${texts}.send`);
  $("why-label").textContent = t(label);
  $("why-reasons").replaceChildren(...picks.map((text) => {
    const b = document.createElement("button");
    b.type = "button"; b.className = "reason"; b.textContent = text;
    b.onclick = () => { field.value = text; };
    return b;
  }));
  field.value = "";
  field.required = required;
  return ask(dlg, $("why-cancel"), () => field.value.trim());
}
/** Resolves {note} on Send (a quick reason, their own words, or nothing), null on Cancel. */
async function askWhy(action) {
  const { texts, reasons } = WHY[action];
  const note = await askPick(texts, reasons.map((key) => t(key)), "why.label", false);
  return note === null ? null : { note };
}
/** A supervisor sends someone (someone else, when an inspector holds it): resolves {assignee}
    (one of the stretch's inspectors, or a name typed), null on Cancel. */
async function askWho(f) {
  const seg = segConf(f.properties.segment), holder = f.properties.assignee;
  const picks = (seg ? seg.inspectors : []).filter((name) => name !== holder);
  const who = await askPick(holder ? "resend" : "send", picks, "send.label", true, { name: holder });
  return who ? { assignee: who } : null;
}

/* ---------- actions taken without signal: kept on the phone, sent in order when it is back ---------- */
const pending = {
  list() { try { return JSON.parse(localStorage.getItem("rp.pending") || "[]"); } catch (e) { return []; } },
  save(list) { store.set("rp.pending", list.length ? list : null); liveState(!$("live").classList.contains("off")); },
  /** Keep one more action; false when the phone's storage will not take it (a photo, a full phone). */
  add(a) {
    try { this.save([...this.list(), a]); return true; } catch (e) { return false; }
  },
};
let flushing = false;
async function flushPending() {
  if (flushing || !store.token || !pending.list().length) return;
  flushing = true;
  let sent = 0;
  try {
    for (const a of pending.list()) {
      let r;
      try { r = await actionRequest(a.wo, a.action, a.done_at, a); } catch (e) { return; } // still no signal
      if (r.status === 401) { toast(t("err.token")); signIn(); return; }
      const out = await r.json().catch(() => ({}));
      pending.save(pending.list().filter((x) => !(x.wo === a.wo && x.action === a.action && x.done_at === a.done_at)));
      if (r.ok) sent += 1;
      else toast(t("pending.refused", { action: t(`act.${a.action}`), detail: out.detail || `HTTP ${r.status}` }));
    }
  } finally {
    flushing = false;
    if (sent) { toast(t("pending.sent", { n: sent })); loadOpen().catch(() => {}); }
  }
}
window.addEventListener("online", () => flushPending());

/* ---------- identity ---------- */
function showMe() { $("me").textContent = store.name || t("me.signin"); $("me").classList.toggle("person", !!store.name); }
function signIn() {
  $("name").value = store.name;
  $("signin-error").hidden = true;
  $("signin").showModal();
}
$("me").addEventListener("click", signIn);
$("signin-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const name = $("name").value.trim(), token = $("token").value.trim();
  const err = (m) => { $("signin-error").textContent = m; $("signin-error").hidden = false; };
  try {
    const r = await fetch("/inspector/whoami", { headers: { Authorization: `Bearer ${token}` } });
    const who = await r.json().catch(() => ({}));
    if (!r.ok) return err(who.detail || `HTTP ${r.status}`);
    if (who.name !== name) return err(t("signin.wrong", { who: who.name, name }));
    store.set("rp.name", name);
    store.set("rp.token", token);
    $("signin").close();
    showMe();
    renderList();
    setupPush();
    const segments = who.segments.map(segName).join(", ");
    toast(who.segments.length ? t("signin.duty", { segments }) : t("signin.welcome", { name }));
  } catch (e) { err(t("err.offline", { error: e.message })); }
});

/* ---------- position ---------- */
function setHere(p) { here = p; $("loc-text").textContent = t(p.source === "gps" ? "locate.gps" : "locate.chosen"); render(); }
$("locate").addEventListener("click", () => {
  if (navigator.geolocation && window.isSecureContext) {
    navigator.geolocation.getCurrentPosition(
      (pos) => setHere({ lon: pos.coords.longitude, lat: pos.coords.latitude, source: "gps" }),
      () => startPicking(), { enableHighAccuracy: true, timeout: 8000 });
  } else startPicking();
});
function startPicking() { picking = true; $("locate").classList.add("on"); toast(t("locate.tap")); }
function watchGps() {
  if (!navigator.geolocation || !window.isSecureContext || !navigator.permissions) return;
  navigator.permissions.query({ name: "geolocation" }).then((s) => {
    if (s.state === "granted") navigator.geolocation.watchPosition(
      (pos) => setHere({ lon: pos.coords.longitude, lat: pos.coords.latitude, source: "gps" }), () => {}, { enableHighAccuracy: true });
  }).catch(() => {});
}

/* ---------- web push ---------- */
function b64ToBytes(s) {
  const raw = atob((s + "=".repeat((4 - (s.length % 4)) % 4)).replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}
function registerWorker() {
  // the page and its last list offline (riverbanks), and Web Push; http:// other than localhost has neither
  if (!("serviceWorker" in navigator) || !window.isSecureContext) return;
  navigator.serviceWorker.register("/inspector/sw.js", { scope: "/inspector/" }).catch(() => {});
}
async function setupPush() {
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !store.token) return;
  const reg = await navigator.serviceWorker.register("/inspector/sw.js", { scope: "/inspector/" });
  const existing = await reg.pushManager.getSubscription();
  $("push").hidden = !!existing && Notification.permission === "granted";
  $("push").onclick = async () => {
    try {
      if ((await Notification.requestPermission()) !== "granted") return toast(t("push.blocked"));
      const { publicKey } = await (await fetch("/inspector/push/key")).json();
      const sub = existing || await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: b64ToBytes(publicKey) });
      const r = await fetch("/inspector/push/subscribe", {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${store.token}` },
        body: JSON.stringify({ inspector: store.name, subscription: sub.toJSON() }),
      });
      const out = await r.json();
      if (!r.ok) return toast(out.detail || `HTTP ${r.status}`);
      $("push").hidden = true;
      const segments = out.segments.map(segName).join(", ");
      toast(out.segments.length ? t("push.on", { segments }) : t("push.on.none"));
    } catch (e) { toast(t("push.failed", { error: e.message })); }
  };
}

/* ---------- misc ---------- */
let toastTimer = null;
function toast(msg) {
  const t = $("toast");
  t.textContent = msg; t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, 3500);
}

async function boot() {
  translatePage();
  registerWorker();
  $("lang").onclick = () => {  // kept on this phone; an address's ?lang= would override it, so drop that
    store.set("rp.lang", LANG === "zh" ? "en" : "zh");
    const u = new URL(location.href);
    u.searchParams.delete("lang");
    location.replace(u);
  };
  showMe();
  const saved = store.pos;
  if (saved) here = saved;
  if (here) $("loc-text").textContent = t("locate.chosen");
  const [c, rv] = await Promise.all([
    fetch("/inspector/config.json").then((r) => r.json()),
    fetch("/inspector/rivers.geojson").then((r) => r.json()),
  ]);
  config = c; rivers = rv;
  $("viewer-close").onclick = () => $("viewer").close();
  $("viewer").addEventListener("click", (ev) => { if (ev.target === $("viewer")) $("viewer").close(); });
  $("inspectors").replaceChildren(...config.inspectors.map((n) => Object.assign(document.createElement("option"), { value: n })));
  await loadOpen().catch((e) => toast(String(e)));
  booted = true;
  connect();
  watchGps();
  if (!store.name || !store.token) signIn(); else setupPush().catch(() => {});
  const hash = location.hash.replace(/^#alert-/, "");
  if (hash && items.has(hash)) select(hash, true);
  setInterval(renderList, 30000);
  window.addEventListener("resize", drawMap);
}
boot();
