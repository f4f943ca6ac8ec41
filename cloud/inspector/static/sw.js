/* Service worker of the inspectors' page: the page and its last list offline, and Web Push.

   Riverbanks often have no signal. The page, its scripts, the rivers and the open list are
   fetched from the network when it answers and from the last copy when it does not; such an
   answer carries x-riverpatrol-offline (when the copy was made) so the page can say so. Photos are
   addressed by their SHA-256, so a kept copy is always right: they come from the cache first. */
const CACHE = "riverpatrol-inspector-v1";
const PHOTOS = "riverpatrol-inspector-photos-v1";
const SHELL = [
  "/inspector/",
  "/inspector/static/app.js",
  "/inspector/static/i18n.js",
  "/inspector/static/style.css",
  "/inspector/rivers.geojson",
  "/inspector/config.json",
];

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(SHELL).catch(() => {});  // offline at install: the pages fill it as they load
    await self.skipWaiting();
  })());
});
self.addEventListener("activate", (event) => event.waitUntil((async () => {
  for (const key of await caches.keys()) if (key !== CACHE && key !== PHOTOS) await caches.delete(key);
  await self.clients.claim();
})()));

function kept(url) {
  if (url.origin !== self.location.origin) return null;
  const p = url.pathname;
  if (p.startsWith("/api/v1/thumbnails/")) return "photo";
  if (p === "/ogc/collections/debris/items") return "fresh";
  if (p === "/inspector/events" || p === "/inspector/whoami" || p.startsWith("/inspector/push/")) return null;
  if (p.startsWith("/inspector/")) return "fresh";
  return null;
}

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (err) {
    // a link to the page may carry ?lang= or other search: the page is the same page
    const copy = await cache.match(request, { ignoreVary: true, ignoreSearch: request.mode === "navigate" });
    if (!copy) throw err;
    const headers = new Headers(copy.headers);
    headers.set("x-riverpatrol-offline", copy.headers.get("date") || "unknown");
    return new Response(await copy.blob(), { status: copy.status, statusText: copy.statusText, headers });
  }
}

const MAX_PHOTOS = 400; // ~20 MB of thumbnails and wider views; the oldest go first

async function cacheFirst(request) {
  const cache = await caches.open(PHOTOS);
  const copy = await cache.match(request);
  if (copy) return copy;
  const response = await fetch(request);
  if (response.ok) {
    await cache.put(request, response.clone());
    const keys = await cache.keys(); // in the order they were put
    for (const old of keys.slice(0, Math.max(0, keys.length - MAX_PHOTOS))) await cache.delete(old);
  }
  return response;
}

self.addEventListener("fetch", (event) => {
  if (event.request.method !== "GET") return;
  const how = kept(new URL(event.request.url));
  if (how === "photo") event.respondWith(cacheFirst(event.request));
  else if (how === "fresh") event.respondWith(networkFirst(event.request));
});

self.addEventListener("push", (event) => {
  let msg = { title: "RiverPatrol", body: "New debris on your stretch", url: "/inspector/" };
  try { msg = Object.assign(msg, event.data ? event.data.json() : {}); } catch (e) { msg.body = event.data.text(); }
  event.waitUntil(self.registration.showNotification(msg.title, {
    body: msg.body, icon: msg.icon || undefined, tag: msg.tag, renotify: true, data: { url: msg.url },
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = (event.notification.data && event.notification.data.url) || "/inspector/";
  event.waitUntil((async () => {
    const wins = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    for (const w of wins) {
      if (w.url.includes("/inspector/")) { await w.focus(); return w.navigate(url); }
    }
    return self.clients.openWindow(url);
  })());
});
