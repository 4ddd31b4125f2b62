// app.js — the demo page: loads recommender.wasm and the bundle from the
// server that serves this page (edgerec serve --web web-demo: GET
// recommender.wasm and GET v1/bundle/file, relative to the page), then
// computes every recommendation in the page. History, its Bloom filter and
// the impressions (items shown but not taken) live in localStorage; nothing
// is sent anywhere.

import { EdgeRec } from './edgerec.js';

const STORE = 'edgerec-demo-v1';
const FILTER_EXPECTED = 2000; // items the consumed filter is sized for
const FILTER_FP = 0.01;
const K = 12;
const CATALOG_PAGE = 48;
const SOURCES = [
  ['twotower', 'Two-tower', 1],
  ['covisit', 'Co-watched', 1],
  ['popular', 'Popular', 0.5],
  ['trending', 'Trending', 0.5],
  ['fresh', 'New', 0.5],
  ['explore', 'Explore', 0.2],
];
const SOURCE_LABEL = Object.fromEntries(SOURCES.map(([name, label]) => [name, label]));
const EXPLORE_STEPS = [0, 10, 8, 6, 4, 3, 2]; // slider position → explore_every
const MAX_IMPRESSIONS = 500; // the most recent kept (the module reads at most 1024)

const $ = (id) => document.getElementById(id);

let rec = null;
let catalog = null; // {items, categories, fields, ...}
let byId = new Map();
let state = loadState();
let shown = CATALOG_PAGE;

function defaultState() {
  return { history: [], filter: '', impressions: {}, context: { region: '', device: '', age: 30 }, knobs: {} };
}

function loadState() {
  try {
    const s = JSON.parse(localStorage.getItem(STORE) || 'null');
    if (s && Array.isArray(s.history)) {
      const st = { ...defaultState(), ...s };
      if (!st.impressions || typeof st.impressions !== 'object' || Array.isArray(st.impressions)) st.impressions = {};
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
  b.textContent = msg;
  b.hidden = false;
}

// ---- loading --------------------------------------------------------------

async function fetchBytes(url, what, hint) {
  let resp;
  try {
    resp = await fetch(url);
  } catch (err) {
    throw new Error(`could not fetch ${what} (${url}): ${err.message}`);
  }
  if (!resp.ok) throw new Error(`could not fetch ${what}: HTTP ${resp.status} for ${url}. ${hint}`);
  return new Uint8Array(await resp.arrayBuffer());
}

async function start() {
  const hint = 'Serve this page with `edgerec serve --web web-demo` (make demo).';
  try {
    const [wasm, bundle] = await Promise.all([
      fetchBytes('recommender.wasm', 'the module', hint),
      fetchBytes('v1/bundle/file', 'the bundle', hint),
    ]);
    $('wasm-size').textContent = fmtBytes(wasm.length);
    $('bundle-size').textContent = fmtBytes(bundle.length);
    rec = await EdgeRec.load(wasm, bundle);
  } catch (err) {
    showError(`The recommender did not start: ${err.message}`);
    $('bundle-chip').textContent = 'not loaded';
    return;
  }
  catalog = rec.catalogAll();
  byId = new Map(catalog.items.map((it) => [it.id, it]));
  // Forget history items this bundle does not know (a new bundle version).
  state.history = state.history.filter((h) => byId.has(h.item));
  if (state.history.length === 0) state.filter = '';
  for (const id of Object.keys(state.impressions)) if (!byId.has(id)) delete state.impressions[id];
  setupContext();
  setupKnobs();
  setupCatalog();
  showBundle();
  $('reset').addEventListener('click', reset);
  renderHistory();
  refresh();
  renderCatalog();
  document.body.dataset.ready = 'true';
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

function setupContext() {
  const f = catalog.fields || {};
  const regions = f.region || [];
  const devices = f.device || [];
  if (!state.context.region && regions.length) state.context.region = regions[0];
  if (!state.context.device && devices.length) state.context.device = devices[0];
  fillSelect($('ctx-region'), regions, state.context.region, 'unknown');
  fillSelect($('ctx-device'), devices, state.context.device, 'unknown');
  $('ctx-age').value = state.context.age || '';
  const onChange = () => {
    state.context.region = $('ctx-region').value;
    state.context.device = $('ctx-device').value;
    const age = parseInt($('ctx-age').value, 10);
    state.context.age = Number.isFinite(age) ? Math.min(150, Math.max(0, age)) : 0;
    saveState();
    refresh();
  };
  for (const id of ['ctx-region', 'ctx-device', 'ctx-age']) $(id).addEventListener('change', onChange);
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

function reason(item) {
  const region = state.context.region;
  switch (item.source) {
    case 'covisit': {
      const t = byId.get(item.because)?.title;
      return t ? `Because you watched “${t}”` : 'Often watched together';
    }
    case 'twotower': return state.history.length ? 'Matches your taste' : 'Picked for your profile';
    case 'popular': return region ? `Popular in ${region}` : 'Popular right now';
    case 'trending': return region ? `Trending in ${region}` : 'Trending';
    case 'fresh': return 'New release';
    case 'explore': return 'Something different';
    default: return item.source;
  }
}

function refresh() {
  if (!rec) return;
  let resp;
  const t0 = performance.now();
  try {
    resp = rec.recommend(buildRequest());
  } catch (err) {
    showError(`The module refused the request: ${err.message}`);
    return;
  }
  const total = performance.now() - t0;
  $('banner').hidden = true;
  renderRecs(resp);
  renderTiming(resp, total);
}

function card(it, i) {
  const meta = byId.get(it.id) || { title: it.id, categories: [], released: 0 };
  return el('article', { class: 'card', 'data-id': it.id, 'data-source': it.source },
    el('div', { class: 'card-top' },
      el('span', { class: 'rank', text: String(i + 1) }),
      el('span', { class: `src src-${it.source}`, text: SOURCE_LABEL[it.source] || it.source, title: `source: ${it.source}` })),
    el('h3', { class: 'title', text: meta.title }),
    el('p', { class: 'meta', text: [year(meta.released), meta.categories.join(' · ')].filter(Boolean).join(' — ') }),
    el('p', { class: 'why', text: reason(it) }),
    el('div', { class: 'actions' },
      el('button', { class: 'btn watch', type: 'button', text: '▶ Watch', onclick: () => consume(it.id, 'watch') }),
      el('button', { class: 'btn ghost buy', type: 'button', text: 'Buy', onclick: () => consume(it.id, 'buy') })));
}

function renderRecs(resp) {
  const box = $('recs');
  if (!resp.items.length) {
    box.replaceChildren(el('p', { class: 'empty', text: 'Nothing left to recommend with these settings.' }));
    return;
  }
  box.replaceChildren(...resp.items.map(card));
}

function renderTiming(resp, totalMs) {
  const stages = resp.debug?.stages || [];
  $('timing').replaceChildren(
    el('b', { text: `${totalMs < 1 ? totalMs.toFixed(2) : totalMs.toFixed(1)} ms` }),
    el('span', { text: ' in this tab, round trip' }));
  const max = Math.max(1, ...stages.map((s) => s.micros));
  $('stages').replaceChildren(...stages.map((s) => el('div', { class: `stage stage-${s.name}`, title: `${s.name}: ${s.in} → ${s.out} items, ${s.micros} µs` },
    el('span', { class: 'stage-name', text: s.name }),
    el('span', { class: 'stage-num', text: `${(s.micros / 1000).toFixed(2)} ms · ${s.in} → ${s.out} items` }),
    el('span', { class: 'stage-bar' }, el('i', { style: `width:${Math.max(2, (100 * s.micros) / max).toFixed(1)}%` })))));

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

function consume(id, action) {
  if (state.history.some((h) => h.item === id)) return;
  noteImpressions(id);
  state.history.push({ item: id, action, time: Math.floor(Date.now() / 1000) });
  const filter = rec.bloomAdd(b64.decode(state.filter), [id], { expected: FILTER_EXPECTED, fpRate: FILTER_FP });
  state.filter = b64.encode(filter);
  saveState();
  renderHistory();
  refresh();
  renderCatalog();
}

function reset() {
  state.history = [];
  state.filter = '';
  state.impressions = {};
  saveState();
  renderHistory();
  refresh();
  renderCatalog();
}

function renderHistory() {
  const h = state.history;
  $('history-count').textContent = String(h.length);
  $('history-empty').hidden = h.length > 0;
  $('history').replaceChildren(...h.slice().reverse().map((e) => el('li', { 'data-id': e.item },
    el('span', { class: `act act-${e.action}`, text: e.action === 'buy' ? 'bought' : 'watched' }),
    el('span', { class: 'h-title', text: byId.get(e.item)?.title || e.item }))));
  const f = b64.decode(state.filter);
  $('filter-size').textContent = f ? fmtBytes(f.length) : '0 bytes';
  $('impressions-count').textContent = String(Object.keys(state.impressions).length);
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
  $('catalog').replaceChildren(...items.slice(0, shown).map((it) => el('li', { class: done.has(it.id) ? 'row done' : 'row', 'data-id': it.id },
    el('span', { class: 'c-title', text: it.title }),
    el('span', { class: 'c-year', text: String(year(it.released)) }),
    el('span', { class: 'c-cats', text: it.categories.join(' · ') }),
    done.has(it.id)
      ? el('span', { class: 'c-done', text: '✓ in history' })
      : el('button', { class: 'btn small watch', type: 'button', text: '▶ Watch', onclick: () => consume(it.id, 'watch') }))));
  $('more').hidden = items.length <= shown;
}

start();
