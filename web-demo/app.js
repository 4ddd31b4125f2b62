// app.js — the demo page: loads recommender.wasm and the bundle from the
// server that serves this page (edgerec serve --web web-demo: GET
// recommender.wasm and GET v1/bundle/file, relative to the page), then
// computes every recommendation in the page. History, its Bloom filter and
// the impressions (items shown but not taken) live in localStorage and are
// never sent. What the user was shown and took (events, schema in
// host/events/EVENTS.md) is posted to an events URL when one is configured
// (see eventsTarget) and kept in localStorage otherwise; the Privacy panel
// says which.

// The loader is imported dynamically so that a missing package (no
// web-demo/node_modules) becomes a message on the page, not a page stuck
// on "loading…" with the error only in the console.
let EdgeRec = null;

const STORE = 'edgerec-demo-v1';
const FILTER_EXPECTED = 2000; // items the consumed filter is sized for
const FILTER_FP = 0.01;
const K = 12;
const CATALOG_PAGE = 48;
const SOURCES = [
  ['twotower', 'Two-tower', 1],
  ['covisit', 'Co-watched', 1],
  ['slim', 'Similar', 1],
  ['popular', 'Popular', 0.5],
  ['trending', 'Trending', 0.5],
  ['fresh', 'New', 0.5],
  ['explore', 'Explore', 0.2],
];
const SOURCE_LABEL = Object.fromEntries(SOURCES.map(([name, label]) => [name, label]));
const EXPLORE_STEPS = [0, 10, 8, 6, 4, 3, 2]; // slider position → explore_every
const MAX_IMPRESSIONS = 500; // the most recent kept (the module reads at most 1024)
const EVENTS_KEPT = 500; // events kept on the device without an events URL (oldest dropped)
// A list counts as shown (an impression event) once it has stayed on
// screen this long, or when the user takes from it: sliding a knob
// redraws the list many times a second, and those lists were not seen.
const SHOWN_MS = 1000;
// The header by which a node that takes events (edgerec serve --events)
// tells the page where to post them, on its answer to GET v1/bundle/file.
const EVENTS_HEADER = 'Edgerec-Events';

const $ = (id) => document.getElementById(id);

let rec = null;
let catalog = null; // {items, categories, fields, ...}
let byId = new Map();
let state = loadState();
let shown = CATALOG_PAGE;
let coldMs = null; // the warm-up call's round trip, the first in this tab
let toastTimer = 0;
let events = null; // the EventLog (edgerec.js)
let eventsTo = { url: '', why: '' }; // where events go; url '' keeps them here
let shownList = null; // {resp, context, logged, timer}: the list on screen
let sending = Promise.resolve(); // flushes, one after another
let lastEventError = '';

function defaultState() {
  return {
    history: [], filter: '', impressions: {}, context: { region: '', device: '', age: 30 }, knobs: {},
    session: '', events: [], eventsDropped: 0, sent: { impression: 0, take: 0 }, refused: 0,
  };
}

function loadState() {
  try {
    const s = JSON.parse(localStorage.getItem(STORE) || 'null');
    if (s && Array.isArray(s.history)) {
      const st = { ...defaultState(), ...s };
      if (!st.impressions || typeof st.impressions !== 'object' || Array.isArray(st.impressions)) st.impressions = {};
      if (!Array.isArray(st.events)) st.events = [];
      if (!st.sent || typeof st.sent !== 'object') st.sent = { impression: 0, take: 0 };
      return st;
    }
  } catch { /* a damaged entry: start over */ }
  return defaultState();
}

function saveState() {
  localStorage.setItem(STORE, JSON.stringify(state));
}

const b64 = {
  encode(bytes) {
    let s = '';
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s);
  },
  decode(str) {
    if (!str) return null;
    const s = atob(str);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  },
};

function fmtBytes(n) {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(2)} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(0)} KB`;
  return `${n} bytes`;
}

function year(ts) {
  return ts > 0 ? new Date(ts * 1000).getUTCFullYear() : '';
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

function showError(msg) {
  const b = $('banner');
  b.replaceChildren(el('b', { text: 'The recommender did not start. ' }), el('span', { text: msg }), ' ',
    el('button', { class: 'btn small', type: 'button', text: 'Try again', onclick: () => location.reload() }));
  b.hidden = false;
  document.body.dataset.state = 'error';
  $('bundle-chip').textContent = 'not loaded';
  $('recs').replaceChildren(el('p', { class: 'state state-error', text: 'No recommendations: the module or the bundle did not load (see the message above).' }));
  $('stages').replaceChildren();
  $('timing').textContent = '';
  $('catalog').replaceChildren(el('li', { class: 'state state-error', text: 'The catalog comes with the bundle, which did not load.' }));
}

function showLoading(what) {
  $('loading-what').textContent = what;
}

// ---- loading --------------------------------------------------------------

async function fetchOK(url, what, hint) {
  let resp;
  try {
    resp = await fetch(url);
  } catch (err) {
    throw new Error(`could not fetch ${what} (${url}): ${err.message}`);
  }
  if (!resp.ok) throw new Error(`could not fetch ${what}: HTTP ${resp.status} for ${url}. ${hint}`);
  return resp;
}

// transferred returns what the resource timing knows of url's size: the
// bytes decoded and, when the server compressed it, the bytes sent.
function transferred(url) {
  const abs = new URL(url, location.href).href;
  const e = performance.getEntriesByName(abs).at(-1);
  if (!e || !e.decodedBodySize) return null;
  const sent = e.encodedBodySize && e.encodedBodySize < e.decodedBodySize ? `, ${fmtBytes(e.encodedBodySize)} sent compressed` : '';
  return `${fmtBytes(e.decodedBodySize)}${sent}`;
}

async function start() {
  const hint = 'Serve this page with `edgerec serve --web web-demo` (make demo).';
  try {
    showLoading('the page\'s packages');
    try {
      ({ EdgeRec } = await import('./edgerec.js'));
    } catch (err) {
      throw new Error(`could not load the page's packages (${err.message}). Run \`npm ci\` in web-demo (make web-deps).`);
    }
    showLoading('the module and the bundle');
    const [wasm, bundle] = await Promise.all([
      fetchOK('recommender.wasm', 'the module', hint),
      fetchOK('v1/bundle/file', 'the bundle', hint),
    ]);
    // The response itself, not its bytes: the loader compiles while the
    // module downloads (WebAssembly.compileStreaming) when it is served as
    // application/wasm.
    eventsTo = eventsTarget(bundle);
    rec = await EdgeRec.load(wasm, bundle);
    $('wasm-size').textContent = transferred('recommender.wasm') || fmtBytes(Number(wasm.headers.get('content-length')) || 0);
    $('bundle-size').textContent = transferred('v1/bundle/file') || fmtBytes(rec.summary.size_bytes);
    showLoading('the catalog');
    catalog = rec.catalogAll();
    // A throwaway call: the first recommend in an instance pays for lazy
    // work (the engine's tier-up, the module's first allocations), so the
    // list the user sees comes from a warm instance. Its time is shown.
    const t0 = performance.now();
    rec.recommend({ k: K, debug: true });
    coldMs = performance.now() - t0;
  } catch (err) {
    showError(err.message);
    return;
  }
  byId = new Map(catalog.items.map((it) => [it.id, it]));
  // Forget history items this bundle does not know (a new bundle version).
  state.history = state.history.filter((h) => byId.has(h.item));
  if (state.history.length === 0) state.filter = '';
  for (const id of Object.keys(state.impressions)) if (!byId.has(id)) delete state.impressions[id];
  setupContext();
  setupKnobs();
  setupCatalog();
  setupTabs();
  showBundle();
  setupEvents();
  $('reset').addEventListener('click', reset);
  renderHistory();
  refresh();
  renderCatalog();
  document.body.dataset.state = 'ready';
  document.body.dataset.ready = 'true';
  performance.mark('edgerec-first-list');
}

function showBundle() {
  const s = rec.summary;
  $('bundle-chip').replaceChildren(
    el('span', { class: 'dot', 'aria-hidden': 'true' }),
    el('span', { text: `bundle ${s.version}` }),
    el('span', { class: 'sep', text: '·' }),
    el('span', { text: `${s.items.toLocaleString()} items` }),
    el('span', { class: 'sep', text: '·' }),
    el('span', { text: fmtBytes(s.size_bytes) }),
  );
  const facts = [
    ['Bundle', s.version],
    ['Built', s.created ? new Date(s.created * 1000).toISOString().slice(0, 10) : '—'],
    ['Format', s.format],
    ['Items', s.items.toLocaleString()],
    ['Embedding', `${s.dim} dims, int8`],
    ['Size', fmtBytes(s.size_bytes)],
  ];
  $('bundle-facts').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: v })]));
}

// ---- context and knobs ------------------------------------------------------

function fillSelect(sel, values, current, unknownLabel) {
  sel.replaceChildren(el('option', { value: '', text: unknownLabel }), ...values.map((v) => el('option', { value: v, text: v })));
  sel.value = values.includes(current) ? current : '';
}

// guessRegion maps the browser's time zone onto the bundle's region names;
// it answers '' (unknown) rather than the first region in the list.
function guessRegion(regions) {
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone || '';
  const area = tz.split('/')[0];
  const west = /^America\/(Los_Angeles|Vancouver|Tijuana|Phoenix|Denver|Boise|Edmonton|Anchorage|Juneau)|^Pacific\/Honolulu/;
  const south = /^America\/(Sao_Paulo|Buenos_Aires|Argentina|Santiago|Bogota|Lima|Caracas|Mexico_City|Montevideo|La_Paz|Guatemala|Panama|Havana)/;
  const north = /^Europe\/(Stockholm|Oslo|Helsinki|Copenhagen|Tallinn|Riga|Vilnius)|^Atlantic\/Reykjavik/;
  let want = [];
  if (west.test(tz)) want = ['us-west'];
  else if (south.test(tz)) want = ['latam'];
  else if (area === 'America') want = ['us-east'];
  else if (north.test(tz)) want = ['eu-north', 'eu-west'];
  else if (area === 'Europe') want = ['eu-west'];
  else if (area === 'Asia' || area === 'Australia' || area === 'Pacific') want = ['apac'];
  const hit = want.find((r) => regions.includes(r)) || '';
  return { region: hit, tz };
}

function guessDevice(devices) {
  const coarse = matchMedia('(pointer: coarse)').matches;
  const want = coarse ? (Math.min(screen.width, screen.height) < 600 ? 'mobile' : 'tablet') : 'desktop';
  return devices.includes(want) ? want : '';
}

const AGE_MIN = 1;
const AGE_MAX = 120;

function setupContext() {
  const f = catalog.fields || {};
  const regions = f.region || [];
  const devices = f.device || [];
  // Until the user picks, region and device are guesses made afresh.
  if (!state.context.chosen) {
    const g = guessRegion(regions);
    state.context.region = g.region;
    $('region-hint').textContent = g.region
      ? `guessed from your time zone (${g.tz})`
      : `unknown: your time zone (${g.tz || 'not given'}) matches none of the bundle's regions`;
  } else {
    $('region-hint').textContent = state.context.region ? 'chosen by you' : 'unknown (chosen by you)';
  }
  if (!state.context.chosen) state.context.device = guessDevice(devices);
  fillSelect($('ctx-region'), regions, state.context.region, 'unknown');
  fillSelect($('ctx-device'), devices, state.context.device, 'unknown');
  $('ctx-age').min = String(AGE_MIN);
  $('ctx-age').max = String(AGE_MAX);
  $('ctx-age').value = state.context.age ? String(state.context.age) : '';
  const onChange = () => {
    state.context.region = $('ctx-region').value;
    state.context.device = $('ctx-device').value;
    state.context.chosen = true;
    $('region-hint').textContent = state.context.region ? 'chosen by you' : 'unknown (chosen by you)';
    saveState();
    refresh();
  };
  for (const id of ['ctx-region', 'ctx-device']) $(id).addEventListener('change', onChange);
  $('ctx-age').addEventListener('change', onAge);
}

// onAge applies the age field only when it holds a whole number in range;
// otherwise the field says so and the request keeps the last valid age, so
// the field never shows a value the module is not using.
function onAge() {
  const input = $('ctx-age');
  const raw = input.value.trim();
  const msg = $('age-error');
  let age;
  if (raw === '') age = 0; // unknown
  else if (/^\d+$/.test(raw) && Number(raw) >= AGE_MIN && Number(raw) <= AGE_MAX) age = Number(raw);
  else {
    input.setAttribute('aria-invalid', 'true');
    msg.textContent = `Age must be a whole number from ${AGE_MIN} to ${AGE_MAX}, or empty for unknown; still using ${state.context.age || 'unknown'}.`;
    msg.hidden = false;
    return;
  }
  input.removeAttribute('aria-invalid');
  msg.hidden = true;
  state.context.age = age;
  saveState();
  refresh();
}

function setupKnobs() {
  const box = $('weights');
  for (const [name, label, def] of SOURCES) {
    const input = el('input', { type: 'range', min: '0', max: '3', step: '0.25', id: `w-${name}`, 'data-source': name });
    const out = el('output', { id: `w-${name}-out` });
    box.append(el('label', { class: 'weight' }, el('span', { class: 'wname', style: `--c: var(--${name})`, text: label }), input, out));
    input.addEventListener('input', () => {
      state.knobs.weights = { ...(state.knobs.weights || {}), [name]: Number(input.value) };
      knobsChanged();
    });
    input.dataset.default = def;
  }
  $('knob-lambda').addEventListener('input', () => { state.knobs.lambda = Number($('knob-lambda').value); knobsChanged(); });
  $('knob-explore').addEventListener('input', () => { state.knobs.explore = Number($('knob-explore').value); knobsChanged(); });
  $('knobs-reset').addEventListener('click', () => { state.knobs = {}; knobsChanged(); });
  showKnobs();
}

function showKnobs() {
  const k = state.knobs;
  const lambda = k.lambda ?? 0.8;
  $('knob-lambda').value = lambda;
  $('lambda-out').textContent = k.lambda === undefined ? 'bundle default' : lambda.toFixed(2);
  const ex = k.explore ?? 0;
  $('knob-explore').value = ex;
  $('explore-out').textContent = k.explore === undefined ? 'bundle default' : ex === 0 ? 'off' : `every ${EXPLORE_STEPS[ex]}th slot`.replace('every 2th', 'every 2nd').replace('every 3th', 'every 3rd');
  for (const [name, , def] of SOURCES) {
    const w = k.weights?.[name];
    $(`w-${name}`).value = w ?? def;
    $(`w-${name}-out`).textContent = w === undefined ? 'default' : `×${w}`;
  }
}

function knobsChanged() {
  showKnobs();
  saveState();
  refresh();
}

// ---- recommendations ----------------------------------------------------------

function buildRequest() {
  const req = {
    k: K,
    debug: true,
    context: { region: state.context.region || undefined, device: state.context.device || undefined, age: state.context.age || undefined },
    history: state.history.map((h) => ({ item: h.item, time: h.time })),
  };
  // Items shown before and not taken: the module demotes them, so that the
  // list does not repeat itself (the notes' "churn").
  const impressions = Object.entries(state.impressions).map(([item, v]) => ({ item, count: v.count, last: v.last }));
  if (impressions.length) req.impressions = impressions;
  const filter = b64.decode(state.filter);
  if (filter) req.consumed = filter;
  const k = state.knobs;
  if (k.weights && Object.keys(k.weights).length) req.sources = { ...k.weights };
  const order = {};
  if (k.lambda !== undefined) order.mmr_lambda = k.lambda;
  if (k.explore !== undefined) order.explore_every = EXPLORE_STEPS[k.explore];
  if (Object.keys(order).length) req.order = order;
  return req;
}

// backfilled reports whether the module added item by its popularity
// back-fill, once the enabled sources ran out (the response's `backfill`;
// core/pipeline backfill).
function backfilled(item) {
  return item.backfill === true;
}

// VERB words a history event for "because you …".
const VERB = { watch: 'watched', buy: 'bought' };

function reason(item) {
  const region = state.context.region;
  switch (item.source) {
    case 'covisit':
    case 'slim': {
      const t = byId.get(item.because)?.title;
      if (!t) return 'Often taken together with your history';
      const ev = state.history.find((h) => h.item === item.because);
      return ev ? `Because you ${VERB[ev.action] || 'chose'} “${t}”` : `Often taken with “${t}”`;
    }
    case 'twotower': return state.history.length ? 'Matches your taste' : 'Picked for your profile';
    case 'popular':
      if (backfilled(item)) return 'Back-fill: among the most popular overall (the sources you left on ran out)';
      return region ? `Popular in ${region}` : 'Popular everywhere';
    case 'trending': return region ? `Trending in ${region}` : 'Trending';
    case 'fresh': return 'New release';
    case 'explore': return 'Something different';
    case 'pinned': return 'Pinned by the catalog';
    default: return item.source;
  }
}

function sourceLabel(item) {
  if (backfilled(item)) return 'Back-fill';
  return SOURCE_LABEL[item.source] || item.source;
}

function refresh() {
  if (!rec) return;
  let resp;
  const req = events.request(buildRequest());
  const t0 = performance.now();
  try {
    resp = rec.recommend(req);
  } catch (err) {
    const b = $('banner');
    b.textContent = `The module refused the request: ${err.message}`;
    b.hidden = false;
    return;
  }
  const total = performance.now() - t0;
  $('banner').hidden = true;
  renderRecs(resp);
  renderTiming(resp, total);
  onScreen(resp, req.context);
}

function card(it, i) {
  const meta = byId.get(it.id) || { title: it.id, categories: [], released: 0 };
  return el('article', { class: 'card', 'data-id': it.id, 'data-source': it.source, 'data-because': it.because || undefined },
    el('div', { class: 'card-top' },
      el('span', { class: 'rank', text: String(i + 1) }),
      el('span', { class: `src src-${it.source}`, text: sourceLabel(it), title: `source: ${it.source}` })),
    el('h3', { class: 'title', text: meta.title }),
    el('p', { class: 'meta', text: [year(meta.released), meta.categories.join(' · ')].filter(Boolean).join(' — ') }),
    el('p', { class: 'why', text: reason(it) }),
    el('div', { class: 'actions' },
      el('button', { class: 'btn watch', type: 'button', text: '▶ Watch', onclick: () => consume(it.id, 'watch', i) }),
      el('button', { class: 'btn ghost buy', type: 'button', text: 'Buy', onclick: () => consume(it.id, 'buy', i) })));
}

function renderRecs(resp) {
  const box = $('recs');
  box.removeAttribute('aria-busy');
  if (!resp.items.length) {
    box.replaceChildren(el('p', { class: 'state state-empty', text: 'Nothing to recommend with these settings: the sources left on found nothing new. Try “bundle defaults” or reset the history.' }));
    return;
  }
  box.replaceChildren(...resp.items.map(card));
}

function ms(x) {
  return x < 1 ? `${x.toFixed(2)} ms` : x < 100 ? `${x.toFixed(1)} ms` : `${Math.round(x)} ms`;
}

function renderTiming(resp, totalMs) {
  const stages = resp.debug?.stages || [];
  // Cold: the warm-up call made while loading, the first in this instance.
  // Warm: this list. Both are the whole round trip in this tab.
  $('timing').replaceChildren(
    el('span', { class: 't-warm', title: 'this list: encode, call the module, decode, in this tab' },
      el('b', { text: ms(totalMs) }), ' warm'),
    el('span', { class: 't-cold', title: 'the first call in this tab, made while the page loaded and not shown' },
      coldMs === null ? '' : `· first call ${ms(coldMs)} cold`));
  const max = Math.max(1, ...stages.map((s) => s.micros));
  $('stages').replaceChildren(...stages.map((s) => el('div', { class: `stage stage-${s.name}`, title: `${s.name}: ${s.in} → ${s.out} items, ${s.micros} µs` },
    el('span', { class: 'stage-name', text: s.name }),
    el('span', { class: 'stage-num' }, el('b', { text: ms(s.micros / 1000) }), ` · ${s.in} → ${s.out}`),
    el('span', { class: 'stage-bar' }, el('i', { style: `width:${Math.max(2, (100 * s.micros) / max).toFixed(1)}%` })))));
}

function toast(text) {
  const t = $('toast');
  t.textContent = text;
  t.hidden = false;
  t.classList.remove('show');
  void t.offsetWidth; // restart the animation
  t.classList.add('show');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, 3000);
}

// ---- the narrow layout's tabs ------------------------------------------------------

// On a phone the panels are tabs under the header (style.css shows the
// tab bar below 900 px); on a wide screen all panels show and the bar is
// hidden.
function setupTabs() {
  for (const b of document.querySelectorAll('#tabs [data-tab]')) {
    b.addEventListener('click', () => showTab(b.dataset.tab));
  }
  showTab('recs');
}

function showTab(tab) {
  document.body.dataset.tab = tab;
  for (const b of document.querySelectorAll('#tabs [data-tab]')) b.setAttribute('aria-selected', String(b.dataset.tab === tab));
  if (tab !== 'recs') window.scrollTo({ top: 0 });
}

// ---- history --------------------------------------------------------------------

// noteImpressions records the recommendations on screen, all but the one
// taken, as shown and not taken. It runs when the user takes an item, not
// on every render: sliding a knob would otherwise count as showing.
function noteImpressions(taken) {
  const now = Math.floor(Date.now() / 1000);
  for (const c of document.querySelectorAll('#recs .card')) {
    const id = c.dataset.id;
    if (id === taken) continue;
    const im = state.impressions[id] || { count: 0, last: 0 };
    state.impressions[id] = { count: im.count + 1, last: now };
  }
  const ids = Object.keys(state.impressions);
  if (ids.length > MAX_IMPRESSIONS) {
    ids.sort((a, b) => state.impressions[b].last - state.impressions[a].last || a.localeCompare(b));
    for (const id of ids.slice(MAX_IMPRESSIONS)) delete state.impressions[id];
  }
}

// consume adds item id to the history; index is its place in the list on
// screen, or undefined when it was taken from the catalog.
function consume(id, action, index) {
  if (state.history.some((h) => h.item === id)) return;
  noteImpressions(id);
  noteTake(id, action, index);
  state.history.push({ item: id, action, time: Math.floor(Date.now() / 1000) });
  const filter = rec.bloomAdd(b64.decode(state.filter), [id], { expected: FILTER_EXPECTED, fpRate: FILTER_FP });
  state.filter = b64.encode(filter);
  saveState();
  renderHistory();
  refresh();
  renderCatalog();
  const title = byId.get(id)?.title || id;
  toast(`${action === 'buy' ? 'Bought' : 'Watched'} “${title}”: added to your history, the list is updated.`);
  const badge = $('tab-history-count');
  badge.classList.remove('bump');
  void badge.offsetWidth;
  badge.classList.add('bump');
}

function reset() {
  state.history = [];
  state.filter = '';
  state.impressions = {};
  // A new anonymous key: events after a reset do not join those before.
  sendEvents();
  state.session = newSession();
  events = newLog();
  saveState();
  renderHistory();
  refresh();
  renderCatalog();
}

function renderHistory() {
  const h = state.history;
  $('history-count').textContent = String(h.length);
  $('tab-history-count').textContent = String(h.length);
  $('history-empty').hidden = h.length > 0;
  $('history').replaceChildren(...h.slice().reverse().map((e) => el('li', { 'data-id': e.item },
    el('span', { class: `act act-${e.action}`, text: e.action === 'buy' ? 'bought' : 'watched' }),
    el('span', { class: 'h-title', text: byId.get(e.item)?.title || e.item }))));
  const f = b64.decode(state.filter);
  $('filter-size').textContent = f ? fmtBytes(f.length) : '0 bytes';
  $('impressions-count').textContent = String(Object.keys(state.impressions).length);
}

// ---- events ---------------------------------------------------------------------

// eventsTarget says where events go: ?events=URL (or ?events=off) in the
// page's address, else the URL the node names in its Edgerec-Events
// header on the bundle's answer (edgerec serve --events), else nowhere.
function eventsTarget(bundleResp) {
  const q = new URLSearchParams(location.search).get('events');
  if (q === 'off' || q === '') return { url: '', why: 'turned off by ?events=off in this page\'s address' };
  if (q) return { url: new URL(q, location.href).href, why: 'set by ?events= in this page\'s address' };
  const h = bundleResp.headers.get(EVENTS_HEADER);
  if (h) return { url: new URL(h, bundleResp.url || location.href).href, why: 'offered by the server of this page' };
  return { url: '', why: 'the server of this page does not take events' };
}

function newSession() {
  const r = new Uint8Array(8);
  crypto.getRandomValues(r);
  return `s-${Array.from(r, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

function newLog() {
  return rec.events({
    url: eventsTo.url, user: state.session, batchSize: 100, maxPending: EVENTS_KEPT,
    // Not console.error: a node that is away is not a fault of the page.
    onError: (err) => { lastEventError = err.message; },
  });
}

function setupEvents() {
  if (!state.session) state.session = newSession();
  events = newLog();
  $('events-clear').addEventListener('click', clearEvents);
  // When the user leaves, the list on screen counts as shown and whatever
  // is waiting goes (fetch keepalive). Only when sending: kept here, a
  // write on the way out could undo one made by another tab.
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden' && eventsTo.url) { noteShown(); sendEvents(); }
  });
  renderEvents();
}

// onScreen notes that resp is the list on screen; it becomes an
// impression after SHOWN_MS unless another list replaces it first.
function onScreen(resp, context) {
  if (shownList) clearTimeout(shownList.timer);
  shownList = { resp, context: context || {}, logged: false, timer: 0 };
  if (resp.items.length) shownList.timer = setTimeout(noteShown, SHOWN_MS);
}

function noteShown() {
  const s = shownList;
  if (!s || s.logged || !s.resp.items.length) return;
  clearTimeout(s.timer);
  s.logged = true;
  events.impression(s.resp, s.context);
  eventAdded();
}

function noteTake(id, action, index) {
  const s = shownList;
  if (index !== undefined && s && s.resp.items[index]?.id === id) {
    noteShown(); // taken from it: the list was seen, however briefly
    events.take(s.resp, index, { kind: action });
  } else {
    events.take(id, undefined, { kind: action });
  }
  eventAdded();
}

// eventAdded keeps a new event on the device (no events URL) or sends it.
function eventAdded() {
  if (!eventsTo.url) {
    state.events.push(...events.pending());
    events.clear();
    if (state.events.length > EVENTS_KEPT) {
      state.eventsDropped += state.events.length - EVENTS_KEPT;
      state.events.splice(0, state.events.length - EVENTS_KEPT);
    }
    saveState();
    renderEvents();
    return;
  }
  sendEvents();
}

// sendEvents posts what is waiting and counts what went, one flush after
// another so that no event is counted twice.
function sendEvents() {
  if (!eventsTo.url || !events) return sending;
  const log = events;
  sending = sending.then(async () => {
    const before = log.pending();
    const dropped = log.dropped;
    await log.flush();
    const left = new Set(log.pending());
    const refused = log.dropped - dropped;
    let sent = before.filter((e) => !left.has(e)).length - refused;
    for (const e of before) {
      if (sent <= 0) break;
      if (left.has(e)) continue;
      state.sent[e.type] = (state.sent[e.type] || 0) + 1;
      sent--;
    }
    state.refused += refused;
    if (refused === 0 && left.size === 0) lastEventError = '';
    saveState();
    renderEvents();
  }).catch((err) => { lastEventError = err.message; renderEvents(); });
  renderEvents();
  return sending;
}

function clearEvents() {
  state.events = [];
  state.eventsDropped = 0;
  state.sent = { impression: 0, take: 0 };
  state.refused = 0;
  events.clear();
  lastEventError = '';
  saveState();
  renderEvents();
}

function plural(n, one, many) {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}

function countTypes(list) {
  const c = { impression: 0, take: 0 };
  for (const e of list) c[e.type] = (c[e.type] || 0) + 1;
  return c;
}

function renderEvents() {
  if (!events) return;
  const send = Boolean(eventsTo.url);
  document.body.dataset.events = send ? 'send' : 'local';
  const what = (c) => `${plural(c.impression, 'list shown', 'lists shown')}, ${plural(c.take, 'take', 'takes')}`;
  let mode;
  let counts;
  let last;
  if (send) {
    const waiting = events.pending();
    mode = [el('b', { text: 'Sent' }), ` to ${eventsTo.url} (${eventsTo.why}): the lists you were shown and what you took from them, with an anonymous key made in this browser (${state.session}), your region and device. Never your history, its filter or your age.`];
    counts = `Sent: ${what(state.sent)}. Waiting: ${waiting.length.toLocaleString()}.` +
      (state.refused ? ` Refused by the server: ${state.refused.toLocaleString()}.` : '');
    last = waiting.slice(-3);
  } else {
    mode = [el('b', { text: 'Kept on this device' }), `, not sent (${eventsTo.why}): the lists you were shown and what you took from them, in this browser's localStorage.`];
    counts = `Kept: ${what(countTypes(state.events))}` +
      (state.eventsDropped ? `; ${state.eventsDropped.toLocaleString()} older ones dropped (at most ${EVENTS_KEPT} are kept).` : '.');
    last = state.events.slice(-3);
  }
  $('privacy-sent').replaceChildren(el('b', { text: 'Sent to a server: ' }), send
    ? `what you were shown and took, as events (below); your history stays here. Every recommendation is computed by WebAssembly in this tab.`
    : 'nothing. Every recommendation below is computed by WebAssembly in this tab.');
  $('events-mode').replaceChildren(...mode);
  $('events-counts').textContent = counts + (lastEventError ? ` Last problem: ${lastEventError}` : '');
  $('events-last').textContent = last.length ? last.map((e) => JSON.stringify(e)).join('\n') : '(none)';
  $('events-clear').title = send ? 'forget the counts and the events not sent yet' : 'forget the events kept on this device';
}

// ---- catalog ----------------------------------------------------------------------

function setupCatalog() {
  const sel = $('category');
  for (const c of catalog.categories) sel.append(el('option', { value: c, text: c }));
  const again = () => { shown = CATALOG_PAGE; renderCatalog(); };
  $('search').addEventListener('input', again);
  $('category').addEventListener('change', again);
  $('sort').addEventListener('change', again);
  $('more').addEventListener('click', () => { shown += CATALOG_PAGE; renderCatalog(); });
  $('search').addEventListener('keydown', (e) => { if (e.key === 'Escape') clearSearch(); });
}

function renderCatalog() {
  if (!catalog) return;
  const q = $('search').value.trim().toLowerCase();
  const cat = $('category').value;
  const sort = $('sort').value;
  let items = catalog.items.filter((it) => (!q || it.title.toLowerCase().includes(q) || it.id.toLowerCase() === q) &&
    (!cat || it.categories.includes(cat)));
  const cmp = {
    popular: (a, b) => b.popularity - a.popularity,
    new: (a, b) => b.released - a.released,
    title: (a, b) => a.title.localeCompare(b.title),
  }[sort];
  items = items.slice().sort(cmp);
  $('catalog-count').textContent = `${items.length.toLocaleString()} of ${catalog.total.toLocaleString()}`;
  const done = new Set(state.history.map((h) => h.item));
  if (items.length === 0) {
    const what = [q && `“${$('search').value.trim()}”`, cat && `in ${cat}`].filter(Boolean).join(' ');
    $('catalog').replaceChildren(el('li', { class: 'state state-empty' },
      el('span', { text: `No titles match ${what}. ` }),
      el('button', { class: 'link', type: 'button', text: 'Clear the search', onclick: clearSearch })));
    $('more').hidden = true;
    return;
  }
  $('catalog').replaceChildren(...items.slice(0, shown).map((it) => el('li', { class: done.has(it.id) ? 'row done' : 'row', 'data-id': it.id },
    el('span', { class: 'c-title', text: it.title }),
    el('span', { class: 'c-year', text: String(year(it.released)) }),
    el('span', { class: 'c-cats', text: it.categories.join(' · ') }),
    done.has(it.id)
      ? el('span', { class: 'c-done', text: '✓ in history' })
      : el('button', { class: 'btn small watch', type: 'button', text: '▶ Watch', onclick: () => consume(it.id, 'watch') }))));
  $('more').hidden = items.length <= shown;
  $('more').textContent = `Show more (${Math.min(shown, items.length).toLocaleString()} of ${items.length.toLocaleString()} shown)`;
}

function clearSearch() {
  $('search').value = '';
  $('category').value = '';
  shown = CATALOG_PAGE;
  renderCatalog();
}

start();
