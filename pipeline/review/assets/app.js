/*
  The browser side of `cluetrace review`: one file, plain ES2020, no framework, no build step.
  It fills index.html from the JSON API (api/case, api/images, api/image, api/clues, api/decision,
  api/reviewed, api/whole, api/query, api/export) and drives four views: Images, Image, Grid, Query
  results. Keyboard first (see the help overlay and KEYS.md). Rules it keeps:
  - every URL is relative to the page (served at /TOKEN/), nothing from outside the machine;
  - the server's CSP forbids inline script and style: no inline handlers, no style attributes;
  - text from the data is only ever set with textContent, never parsed as HTML;
  - clue crops only; the whole image is fetched when the analyst asks for it, and shown blurred and
    grey until clicked.
*/
'use strict';

const $ = (id) => document.getElementById(id);

// Builds an element. attrs: {class, text, data: {...}, on: {event: fn}, ...other attributes}.
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = String(value);
    else if (key === 'data') for (const [k, v] of Object.entries(value)) node.dataset[k] = String(v);
    else if (key === 'on') for (const [ev, fn] of Object.entries(value)) node.addEventListener(ev, fn);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const DECISION_LABEL = {confirm: 'confirmed', dismiss: 'dismissed', publish: 'publication candidate'};
const LINK_LABEL = {clue: 'Same clue', scene: 'Same scene', identical: 'Identical file'};
const fmtScore = (s) => (typeof s === 'number' ? s.toFixed(2) : '–');
const fmtTime = (t) => (t ? String(t).replace('T', ' ').replace(/Z$/, ' UTC') : '');

// ---------------------------------------------------------------- state

const S = {
  info: null,                 // api/case
  view: 'images',
  list: {filters: {}, offset: 0, limit: 50, total: 0, items: [], sel: 0, loaded: false},
  grid: {filters: {}, offset: 0, limit: 100, total: 0, items: [], sel: 0, loaded: false},
  image: null,                // {case, id, data: api/image, sel, whole, revealed, editing}
  query: {results: [], sel: 0, summary: ''},
  drawing: null,              // {x0, y0} in frame pixels while the mouse draws a box
};

// ---------------------------------------------------------------- HTTP

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? '?' + s : '';
}

async function api(path, options) {
  let res;
  try {
    res = await fetch(path, Object.assign({credentials: 'same-origin', cache: 'no-store'}, options));
  } catch (e) {
    throw new Error('the review server does not answer (' + e.message + ')');
  }
  let body = null;
  if ((res.headers.get('content-type') || '').includes('json')) body = await res.json().catch(() => null);
  if (!res.ok) throw new Error((body && body.error) || res.status + ' ' + res.statusText);
  return body;
}
const getJSON = (path, params) => api(path + query(params));
const postJSON = (path, obj) => api(path, {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(obj)});

function showStatus(message, kind = 'ok') {
  const s = $('status');
  s.textContent = message;
  s.className = kind;
  s.dataset.kind = kind;
}
const fail = (what) => (e) => showStatus(what + ': ' + e.message, 'error');

// ---------------------------------------------------------------- views

function showView(name) {
  S.view = name;
  for (const section of document.querySelectorAll('.view')) section.hidden = section.id !== 'view-' + name;
  for (const tab of document.querySelectorAll('#tabs [role="tab"]')) tab.setAttribute('aria-selected', String(tab.dataset.view === name));
  document.body.dataset.view = name;
  let hash = '#' + name;
  if (name === 'image' && S.image) hash = '#image/' + S.image.case + '/' + S.image.id;
  if (location.hash !== hash) history.replaceState(null, '', hash);
  if (name === 'images' && !S.list.loaded) loadImages(0);
  if (name === 'grid' && !S.grid.loaded) loadGrid(S.grid.offset);
  if (name === 'image' && !S.image) showStatus('No image open yet: choose one in the Images view.', 'info');
  const current = currentSelected();
  if (current) current.scrollIntoView({block: 'nearest'});
}

function currentSelected() {
  const list = {images: 'images-list', grid: 'grid-list', query: 'query-list', image: 'clue-list'}[S.view];
  return list ? $(list).querySelector('[aria-selected="true"]') : null;
}

// Marks item `index` of a listbox as selected (outline + aria-selected).
function markSelected(listId, index) {
  const items = $(listId).children;
  for (let i = 0; i < items.length; i++) items[i].setAttribute('aria-selected', String(i === index));
  if (items[index]) items[index].scrollIntoView({block: 'nearest'});
}

// ---------------------------------------------------------------- case header

async function loadCase() {
  const info = await getJSON('api/case');
  S.info = info;
  const fill = (select, entries) => {
    const keep = select.value;
    for (const [value, label] of entries) select.append(el('option', {value}, label));
    if ([...select.options].some((o) => o.value === keep)) select.value = keep;
  };
  fill($('filter-case'), (info.cases || []).map((c) => [c.index, c.name + ' (' + c.images + ')']));
  $('filter-case').closest('label').hidden = (info.cases || []).length < 2;
  const countries = (info.countries || []).map((c) => [c.code, c.code + ' (' + c.images + ')']);
  fill($('filter-country'), countries);
  fill($('grid-country'), countries);
  const kinds = (info.kinds || []).map((k) => [k, k]);
  fill($('filter-kind'), kinds);
  // The grid shows one kind at a time, the first one unless the analyst picks another (or "any").
  fill($('grid-kind'), kinds.concat([['', 'any kind']]));
  if (!S.grid.loaded && kinds.length) $('grid-kind').value = kinds[0][0];
  renderCaseSummary();
}

function renderCaseSummary() {
  const info = S.info;
  if (!info) return;
  const images = (info.cases || []).reduce((n, c) => n + (c.images || 0), 0);
  const reviewed = (info.cases || []).reduce((n, c) => n + (c.reviewed || 0), 0);
  const d = info.decisions || {};
  $('case-summary').textContent = 'analyst ' + (info.analyst || '?') + ' · ' + images + ' images, ' + reviewed + ' reviewed · ' +
    (d.confirm || 0) + ' confirmed, ' + (d.dismiss || 0) + ' dismissed, ' + (d.publish || 0) + ' for publication';
}
const refreshCase = () => getJSON('api/case').then((info) => { S.info = info; renderCaseSummary(); }).catch(() => {});

// ---------------------------------------------------------------- Images view

function readImageFilters() {
  return {
    case: $('filter-case').value, country: $('filter-country').value, kind: $('filter-kind').value,
    min_score: $('filter-min-score').value, decision: $('filter-decision').value, reviewed: $('filter-reviewed').value,
  };
}

async function loadImages(offset, selectLast = false) {
  const L = S.list;
  L.filters = readImageFilters();
  try {
    const r = await getJSON('api/images', Object.assign({}, L.filters, {offset: Math.max(0, offset), limit: L.limit}));
    L.offset = Math.max(0, offset);
    L.total = r.total || 0;
    L.items = r.images || [];
    L.sel = selectLast ? Math.max(0, L.items.length - 1) : 0;
    L.loaded = true;
    renderImages();
  } catch (e) {
    fail('Could not load the images')(e);
  }
}

function renderImages() {
  const L = S.list;
  $('images-list').replaceChildren(...L.items.map((im, i) => el('li', {
    class: 'selectable image-row', role: 'option', 'aria-selected': String(i === L.sel), id: 'image-row-' + i,
    data: {index: i, case: im.case, imageId: im.id, sha256: im.sha256 || '', clues: im.clues || 0, reviewed: String(!!im.reviewed)},
  },
  el('div', {class: 'thumb'}, im.crop ? el('img', {src: im.crop, alt: 'crop of the best clue', loading: 'lazy'}) : el('span', {class: 'hint', text: 'no crop'})),
  el('div', {},
    el('div', {class: 'title', text: im.path}),
    el('div', {class: 'facts'},
      el('span', {text: 'country ' + (im.top_country || '–')}),
      el('span', {text: (im.clues || 0) + ' clues'}),
      im.best_kind ? el('span', {text: 'best ' + im.best_kind + ': '}, el('q', {text: im.best_value || ''}), ' (' + fmtScore(im.best_score) + ')') : null,
      im.status && im.status !== 'ok' ? el('span', {class: 'errors', text: 'status ' + im.status}) : null,
      im.reviewed ? el('span', {class: 'reviewed-mark', text: '✓ reviewed'}) : el('span', {text: 'not reviewed'}))))));
  $('images-empty').hidden = L.items.length > 0;
  const last = L.offset + L.items.length;
  $('images-range').textContent = L.total ? (L.offset + 1) + '–' + last + ' of ' + L.total : '0 images';
  $('images-prev').disabled = L.offset === 0;
  $('images-next').disabled = last >= L.total;
  markSelected('images-list', L.sel);
}

function selectListItem(i) {
  const L = S.list;
  if (!L.items.length) return;
  L.sel = Math.min(Math.max(i, 0), L.items.length - 1);
  markSelected('images-list', L.sel);
}

async function toggleReviewedOf(c, id, reviewed) {
  const r = await postJSON('api/reviewed', {case: c, id, reviewed});
  for (const im of S.list.items) if (im.case === c && im.id === id) im.reviewed = reviewed;
  if (S.image && S.image.case === c && S.image.id === id) {
    S.image.data.image.reviewed = reviewed;
    S.image.data.image.reviewed_by = r && r.reviewed_by;
    S.image.data.image.reviewed_at = r && r.reviewed_at;
    renderReviewed();
  }
  if (S.list.loaded) renderImages();
  refreshCase();
  showStatus(reviewed ? 'Marked as reviewed.' : 'Marked as not reviewed.');
}

// ---------------------------------------------------------------- Image view

async function openImage(c, id, rank) {
  c = Number(c); id = Number(id);
  let data;
  try {
    data = await getJSON('api/image', {case: c, id});
  } catch (e) {
    fail('Could not open the image')(e);
    return;
  }
  const clues = data.clues || [];
  let sel = clues.findIndex((cl) => cl.rank === Number(rank));
  if (sel < 0) sel = 0;
  S.image = {case: c, id, data, sel, whole: false, revealed: false, editing: false};
  const inList = S.list.items.findIndex((im) => im.case === c && im.id === id);
  if (inList >= 0) S.list.sel = inList;
  renderImage();
  showView('image');
  showStatus('Image ' + (data.image.path || id) + ': ' + clues.length + ' clues.', 'info');
}

function renderImage() {
  const I = S.image, im = I.data.image;
  const view = $('view-image');
  view.dataset.case = I.case;
  view.dataset.imageId = I.id;
  view.dataset.sha256 = im.sha256 || '';
  view.dataset.width = im.width || '';
  view.dataset.height = im.height || '';
  delete view.dataset.drawnBox;
  $('image-title').textContent = im.path || '(no path)';
  const fact = (label, value) => el('div', {}, el('dt', {text: label}), el('dd', {text: value}));
  $('image-meta').replaceChildren(
    fact('case', I.case), fact('id', I.id), fact('SHA-256', im.sha256 || '–'), fact('status', im.status || '–'),
    fact('size', im.width && im.height ? im.width + '×' + im.height : '–'), fact('country', im.top_country || '–'));
  $('image-errors').replaceChildren(...(im.errors || []).map((e) =>
    el('li', {text: typeof e === 'string' ? e : [e.stage, e.message].filter(Boolean).join(': ') || JSON.stringify(e)})));
  renderReviewed();
  renderClues();
  renderLinks();
  hideWhole();
  const box = (I.data.clues[I.sel] || {}).box;
  fillBoxInputs(box || null);
}

function renderReviewed() {
  const reviewed = !!S.image.data.image.reviewed;
  $('view-image').dataset.reviewed = String(reviewed);
  const b = $('image-reviewed');
  b.setAttribute('aria-pressed', String(reviewed));
  b.replaceChildren(reviewed ? '✓ Reviewed ' : 'Not reviewed ', el('kbd', {text: 'r'}));
  const im = S.image.data.image;
  b.title = reviewed && im.reviewed_by ? 'Reviewed by ' + im.reviewed_by + (im.reviewed_at ? ' at ' + fmtTime(im.reviewed_at) : '') : 'Toggle reviewed';
}

function clueCard(clue, i) {
  const I = S.image;
  const decision = clue.decision || 'none';
  const editing = I.editing && i === I.sel;
  const action = (name, label, key) => el('button', {type: 'button', class: 'clue-action', data: {action: name}, title: label}, label + ' ', el('kbd', {text: key}));
  return el('li', {
    class: 'clue selectable', role: 'option', id: 'clue-' + clue.rank, 'aria-selected': String(i === I.sel),
    data: {index: i, clueRank: clue.rank, decision, kind: clue.kind || ''},
  },
  el('div', {class: 'crop'}, clue.crop ? el('img', {src: clue.crop, alt: 'crop of clue ' + clue.rank}) : el('span', {class: 'nocrop', text: clue.box ? 'no crop' : 'no crop (not located)'})),
  el('div', {class: 'body'},
    el('div', {class: 'head'},
      el('span', {class: 'rank', text: '#' + clue.rank}),
      el('span', {class: 'kind', text: clue.kind || ''}),
      el('span', {class: 'badge decision ' + decision, text: DECISION_LABEL[clue.decision] || 'undecided'})),
    el('div', {class: 'value', text: clue.value || ''}),
    el('div', {class: 'facts', text: 'score ' + fmtScore(clue.score) + ' · confidence ' + fmtScore(clue.confidence) +
      (clue.countries ? ' · countries ' + clue.countries : '')}),
    clue.explanation ? el('div', {class: 'explanation', text: clue.explanation}) : null,
    clue.decided_by || clue.decided_at ? el('div', {class: 'who', text: 'decided by ' + (clue.decided_by || '?') + (clue.decided_at ? ' at ' + fmtTime(clue.decided_at) : '')}) : null,
    editing
      ? el('input', {type: 'text', class: 'note-edit', id: 'note-input', 'aria-label': 'Note (Enter saves, Escape cancels)', maxlength: 2000, value: clue.note || ''})
      : el('div', {class: 'note', text: clue.note || ''}),
    el('div', {class: 'actions'},
      action('confirm', 'Confirm', 'c'), action('dismiss', 'Dismiss', 'x'), action('publish', 'Publish', 'P'),
      action('clear', 'Clear', 'u'), action('note', 'Note', 'e'), action('find', 'Find', 'f'))));
}

function renderClues() {
  const I = S.image, clues = I.data.clues || [];
  $('clue-list').replaceChildren(...clues.map(clueCard));
  $('clue-empty').hidden = clues.length > 0;
  markSelected('clue-list', I.sel);
}

function rerenderClue(i) {
  const I = S.image;
  const old = $('clue-list').children[i];
  if (!old) return;
  const card = clueCard(I.data.clues[i], i);
  old.replaceWith(card);
  const input = card.querySelector('.note-edit');
  if (input) {
    input.addEventListener('keydown', onNoteKey);
    input.focus();
    input.select();
  }
}

function selectClue(i) {
  const I = S.image;
  const clues = I.data.clues || [];
  if (!clues.length) return;
  if (I.editing) { I.editing = false; rerenderClue(I.sel); }
  I.sel = Math.min(Math.max(i, 0), clues.length - 1);
  markSelected('clue-list', I.sel);
  placeClueBox();
  fillBoxInputs(clues[I.sel].box || null);
}

function renderLinks() {
  const links = S.image.data.links || [];
  $('link-list').replaceChildren(...links.map((link) => el('li', {data: {linkType: link.type || ''}},
    el('div', {},
      el('strong', {text: LINK_LABEL[link.type] || link.type || 'Link'}),
      link.type === 'clue' ? el('span', {text: ' (' + (link.kind || '') + '): '}, el('q', {text: link.value || ''})) : null),
    el('div', {class: 'link-images'}, ...(link.images || []).map((o) => el('button', {
      type: 'button', class: 'link-open', title: 'Open ' + (o.path || ''), data: {case: o.case, imageId: o.id},
    }, o.crop ? el('img', {src: o.crop, alt: 'crop in the linked image'}) : null, el('span', {class: 'path', text: o.path || ('image ' + o.id)})))))));
  $('link-empty').hidden = links.length > 0;
}

async function decide(decision) {
  const I = S.image;
  if (!I || !(I.data.clues || []).length) return;
  const clue = I.data.clues[I.sel];
  await saveDecision(I.sel, decision === undefined ? clue.decision : decision, clue.note || '');
}

// Sends a clue's decision with its note (the server stores both); null clears the decision.
async function saveDecision(i, decision, note) {
  const I = S.image, clue = I.data.clues[i];
  try {
    const r = await postJSON('api/decision', {case: I.case, id: I.id, rank: clue.rank, decision, note});
    clue.decision = r && 'decision' in r ? r.decision : decision;
    clue.note = r && typeof r.note === 'string' ? r.note : note;
    clue.decided_by = r && r.decided_by;
    clue.decided_at = r && r.decided_at;
    I.editing = false;
    if (S.image === I) rerenderClue(i);
    showStatus('Saved: clue #' + clue.rank + ' ' + (DECISION_LABEL[clue.decision] || 'undecided') + (clue.note ? ', note "' + clue.note + '"' : '') + '.');
    S.grid.loaded = false;
    refreshCase();
  } catch (e) {
    fail('Not saved')(e);
  }
}

function editNote() {
  const I = S.image;
  if (!I || !(I.data.clues || []).length) return;
  I.editing = true;
  rerenderClue(I.sel);
  showStatus('Editing the note of clue #' + I.data.clues[I.sel].rank + ': Enter saves, Escape cancels.', 'info');
}

function onNoteKey(e) {
  const I = S.image;
  if (e.key === 'Enter') {
    e.preventDefault();
    const clue = I.data.clues[I.sel];
    saveDecision(I.sel, clue.decision || null, e.target.value.trim());
  } else if (e.key === 'Escape') {
    e.preventDefault();
    I.editing = false;
    rerenderClue(I.sel);
    showStatus('Note not changed.', 'info');
  }
}

async function stepImage(delta) {
  const L = S.list;
  if (!L.loaded) await loadImages(0);
  const I = S.image;
  let target = I ? L.items.findIndex((im) => im.case === I.case && im.id === I.id) : -1;
  target = target < 0 ? L.sel : target + delta;
  if (target >= L.items.length) {
    if (L.offset + L.items.length >= L.total) { showStatus('This is the last image of the list.', 'info'); return; }
    await loadImages(L.offset + L.limit);
    target = 0;
  } else if (target < 0) {
    if (L.offset === 0) { showStatus('This is the first image of the list.', 'info'); return; }
    await loadImages(L.offset - L.limit, true);
    target = L.items.length - 1;
  }
  const im = L.items[target];
  if (!im) return;
  L.sel = target;
  await openImage(im.case, im.id);
}

// ---------------------------------------------------------------- the whole image (veiled until clicked)

function showWhole() {
  const I = S.image;
  if (!I) return;
  I.whole = true;
  I.revealed = false;
  const img = $('whole-img');
  img.className = 'veiled';
  img.src = 'api/whole' + query({case: I.case, id: I.id});
  $('whole-frame').hidden = false;
  $('whole-hint').hidden = false;
  $('whole-show').firstChild.textContent = 'Hide whole image ';
  $('whole-clue-box').hidden = true;
  $('whole-draw-box').hidden = true;
}

function hideWhole() {
  if (S.image) { S.image.whole = false; S.image.revealed = false; }
  const img = $('whole-img');
  img.removeAttribute('src');
  img.className = 'veiled';
  $('whole-frame').hidden = true;
  $('whole-hint').hidden = true;
  $('whole-show').firstChild.textContent = 'Show whole image ';
}

function reveal() {
  S.image.revealed = true;
  $('whole-img').className = 'revealed';
  placeClueBox();
}

// Original pixels per displayed pixel.
function wholeScale() {
  const img = $('whole-img'), im = S.image.data.image;
  const w = im.width || img.naturalWidth, h = im.height || img.naturalHeight;
  return {sx: w / img.clientWidth, sy: h / img.clientHeight, w, h};
}

function placeClueBox() {
  const I = S.image, box = $('whole-clue-box');
  const clue = I && (I.data.clues || [])[I.sel];
  if (!I || !I.revealed || !clue || !clue.box || !$('whole-img').clientWidth) { box.hidden = true; return; }
  const {sx, sy} = wholeScale();
  const [x, y, w, h] = clue.box;
  box.style.left = (x / sx) + 'px';
  box.style.top = (y / sy) + 'px';
  box.style.width = (w / sx) + 'px';
  box.style.height = (h / sy) + 'px';
  box.hidden = false;
}

function framePoint(e) {
  const r = $('whole-img').getBoundingClientRect();
  return {x: Math.min(Math.max(e.clientX - r.left, 0), r.width), y: Math.min(Math.max(e.clientY - r.top, 0), r.height)};
}

function onWholeDown(e) {
  if (e.button !== 0 || !S.image) return;
  e.preventDefault();
  if (!S.image.revealed) { reveal(); return; }
  const p = framePoint(e);
  S.drawing = {x0: p.x, y0: p.y};
  drawBox(p);
}

function drawBox(p) {
  const d = S.drawing, box = $('whole-draw-box');
  d.x1 = p.x; d.y1 = p.y;
  box.style.left = Math.min(d.x0, p.x) + 'px';
  box.style.top = Math.min(d.y0, p.y) + 'px';
  box.style.width = Math.abs(p.x - d.x0) + 'px';
  box.style.height = Math.abs(p.y - d.y0) + 'px';
  box.hidden = false;
}

function onWholeMove(e) {
  if (S.drawing) drawBox(framePoint(e));
}

function onWholeUp(e) {
  const d = S.drawing;
  if (!d) return;
  drawBox(framePoint(e));
  S.drawing = null;
  const {sx, sy, w: W, h: H} = wholeScale();
  const x = Math.round(Math.min(d.x0, d.x1) * sx), y = Math.round(Math.min(d.y0, d.y1) * sy);
  const w = Math.min(Math.round(Math.abs(d.x1 - d.x0) * sx), W - x), h = Math.min(Math.round(Math.abs(d.y1 - d.y0) * sy), H - y);
  if (w < 4 || h < 4) { $('whole-draw-box').hidden = true; return; }
  fillBoxInputs([x, y, w, h]);
  $('view-image').dataset.drawnBox = [x, y, w, h].join(',');
  showStatus('Box drawn: ' + [x, y, w, h].join(', ') + ' — press "Find box" to search the case.', 'info');
}

function fillBoxInputs(box) {
  const ids = ['query-x', 'query-y', 'query-w', 'query-h'];
  ids.forEach((id, k) => { $(id).value = box ? Math.round(box[k]) : ''; });
}

// ---------------------------------------------------------------- Query

async function runQuery(options, description) {
  showStatus('Searching for ' + description + '…', 'info');
  try {
    const r = await api('api/query', Object.assign({method: 'POST'}, options));
    const results = (r && r.results) || [];
    const ms = r && r.elapsed_ms !== undefined ? r.elapsed_ms
      : r && (r.scan_ms !== undefined || r.verify_ms !== undefined) ? Math.round((r.scan_ms || 0) + (r.verify_ms || 0)) : '?';
    const checked = r && r.candidates !== undefined ? ', ' + r.candidates + ' candidates, ' + (r.verified || 0) + ' verified' : '';
    const skipped = r && r.skipped && r.skipped.length ? '; ' + r.skipped.length + ' case(s) without object stores not searched' : '';
    S.query = {results, sel: 0, summary: results.length + ' image' + (results.length === 1 ? '' : 's') + ' for ' + description +
      ' (' + ms + ' ms' + checked + skipped + ')'};
    renderQuery();
    showView('query');
    showStatus('Query done: ' + S.query.summary + '.');
  } catch (e) {
    fail('Query failed')(e);
  }
}

function queryBox(c, id, box, description) {
  return runQuery({headers: {'Content-Type': 'application/json'}, body: JSON.stringify({case: c, id, box: box.map(Math.round)})}, description);
}

function queryFromForm(e) {
  e.preventDefault();
  const I = S.image;
  if (!I) return;
  const box = ['query-x', 'query-y', 'query-w', 'query-h'].map((id) => Number($(id).value));
  if (box.some((v) => !Number.isFinite(v)) || box[2] <= 0 || box[3] <= 0) { showStatus('The box needs x, y and a width and height above 0.', 'error'); return; }
  document.activeElement.blur();
  queryBox(I.case, I.id, box, 'box [' + box.join(', ') + '] of ' + (I.data.image.path || 'image ' + I.id));
}

function queryClue() {
  const I = S.image;
  const clue = I && (I.data.clues || [])[I.sel];
  if (!clue) return;
  if (!clue.box) { showStatus('Clue #' + clue.rank + ' has no box: draw one on the whole image, or upload a crop.', 'error'); return; }
  queryBox(I.case, I.id, clue.box, 'clue #' + clue.rank + ' (' + clue.kind + ' ' + (clue.value || '') + ') of ' + (I.data.image.path || 'image ' + I.id));
}

function queryUpload(e) {
  const file = e.target.files && e.target.files[0];
  e.target.blur();
  if (!file) return;
  const type = file.type === 'image/jpg' ? 'image/jpeg' : file.type;
  if (type !== 'image/png' && type !== 'image/jpeg') { showStatus('Upload a PNG or JPEG crop.', 'error'); return; }
  runQuery({headers: {'Content-Type': type}, body: file}, 'the uploaded crop ' + file.name).finally(() => { e.target.value = ''; });
}

function renderQuery() {
  const Q = S.query;
  $('query-summary').textContent = Q.summary;
  $('query-list').replaceChildren(...Q.results.map((r, i) => el('li', {
    class: 'selectable query-row', role: 'option', 'aria-selected': String(i === Q.sel), id: 'query-row-' + i,
    data: {index: i, case: r.case, imageId: r.id, inliers: r.inliers},
  },
  el('div', {class: 'thumb'}, r.region ? el('img', {src: r.region, alt: 'matched region in ' + (r.path || 'image ' + r.id)}) : el('span', {class: 'hint', text: 'no region'})),
  el('div', {},
    el('div', {class: 'title', text: r.path || 'image ' + r.id}),
    el('div', {class: 'facts'}, el('span', {text: '#' + (i + 1)}), el('span', {text: r.inliers + ' inliers'}), el('span', {text: 'case ' + r.case + ', id ' + r.id}))))));
  $('query-empty').hidden = Q.results.length > 0;
  markSelected('query-list', Q.sel);
}

// ---------------------------------------------------------------- Grid view

function readGridFilters() {
  return {kind: $('grid-kind').value, decision: $('grid-decision').value, country: $('grid-country').value, min_score: $('grid-min-score').value};
}

async function loadGrid(offset) {
  const G = S.grid;
  G.filters = readGridFilters();
  try {
    const r = await getJSON('api/clues', Object.assign({}, G.filters, {offset: Math.max(0, offset), limit: G.limit}));
    G.offset = Math.max(0, offset);
    G.total = r.total || 0;
    G.items = r.clues || [];
    G.sel = G.offset === G.lastOffset ? Math.min(G.sel, Math.max(0, G.items.length - 1)) : 0;
    G.lastOffset = G.offset;
    G.loaded = true;
    renderGrid();
  } catch (e) {
    fail('Could not load the clues')(e);
  }
}

function gridCard(c, i) {
  const decision = c.decision || 'none';
  return el('li', {
    class: 'selectable grid-item', role: 'option', 'aria-selected': String(i === S.grid.sel), id: 'grid-item-' + i,
    data: {index: i, case: c.case, imageId: c.id, clueRank: c.rank, decision, kind: c.kind || ''},
  },
  el('div', {class: 'crop'}, c.crop ? el('img', {src: c.crop, alt: 'crop of a ' + (c.kind || '') + ' clue', loading: 'lazy'}) : el('span', {class: 'hint', text: 'no crop'})),
  el('div', {class: 'value', text: c.value || ''}),
  el('div', {class: 'facts'}, el('span', {text: fmtScore(c.score)}), el('span', {class: 'badge decision ' + decision, text: DECISION_LABEL[c.decision] || 'undecided'})));
}

function renderGrid() {
  const G = S.grid;
  $('grid-list').replaceChildren(...G.items.map(gridCard));
  $('grid-empty').hidden = G.items.length > 0;
  const last = G.offset + G.items.length;
  $('grid-range').textContent = G.total ? (G.offset + 1) + '–' + last + ' of ' + G.total : '0 clues';
  $('grid-prev').disabled = G.offset === 0;
  $('grid-next').disabled = last >= G.total;
  markSelected('grid-list', G.sel);
}

function selectGridItem(i) {
  const G = S.grid;
  if (!G.items.length) return;
  G.sel = Math.min(Math.max(i, 0), G.items.length - 1);
  markSelected('grid-list', G.sel);
}

// Decides the selected crop of the grid and moves on to the next one.
async function gridDecide(decision) {
  const G = S.grid, c = G.items[G.sel];
  if (!c) return;
  const i = G.sel;
  try {
    // A decision is saved with its note (the server replaces both): keep the note the clue has.
    if (typeof c.note !== 'string') {
      const image = await getJSON('api/image', {case: c.case, id: c.id});
      const same = (image.clues || []).find((x) => x.rank === c.rank);
      c.note = (same && same.note) || '';
    }
    const r = await postJSON('api/decision', {case: c.case, id: c.id, rank: c.rank, decision, note: c.note});
    if (r && typeof r.note === 'string') c.note = r.note;
    c.decision = r && 'decision' in r ? r.decision : decision;
    const old = $('grid-list').children[i];
    if (old) old.replaceWith(gridCard(c, i));
    if (G.sel === i) selectGridItem(i + 1);
    if (S.image && S.image.case === c.case && S.image.id === c.id) {
      const same = (S.image.data.clues || []).find((x) => x.rank === c.rank);
      if (same) { same.decision = c.decision; same.decided_by = r && r.decided_by; same.decided_at = r && r.decided_at; renderClues(); }
    }
    showStatus('Saved: ' + (c.kind || '') + ' "' + (c.value || '') + '" ' + (DECISION_LABEL[c.decision] || 'undecided') + '.');
    refreshCase();
  } catch (e) {
    fail('Not saved')(e);
  }
}

async function gridFind() {
  const c = S.grid.items[S.grid.sel];
  if (!c) return;
  await openImage(c.case, c.id, c.rank);
  queryClue();
}

// ---------------------------------------------------------------- export

async function runExport() {
  showStatus('Exporting the publication candidates…', 'info');
  try {
    const r = await postJSON('api/export', {});
    $('export-summary').textContent = (r.written || 0) + ' crops written, ' + (r.refused || 0) + ' refused' + (r.out ? ', in ' + r.out : '') + '.';
    $('export-refusals').replaceChildren(...(r.refusals || []).map((x) => el('li', {text: (x.image || '') + ' #' + (x.rank || '?') + ': ' + (x.reason || '')})));
    $('export-result').hidden = false;
    showStatus('Export done: ' + $('export-summary').textContent);
  } catch (e) {
    fail('Export failed')(e);
  }
}

// ---------------------------------------------------------------- keyboard

function typing(target) {
  if (!target || !target.tagName) return false;
  const tag = target.tagName;
  return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || target.isContentEditable;
}

function closeOverlays() {
  let closed = false;
  for (const id of ['help', 'export-result']) if (!$(id).hidden) { $(id).hidden = true; closed = true; }
  return closed;
}

function onKey(e) {
  if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
  const key = e.key;
  if ((key === 'Enter' || key === ' ') && e.target.closest && e.target.closest('button, a')) return;
  if (key === 'Escape') {
    if (closeOverlays()) { e.preventDefault(); return; }
    if (S.drawing) { S.drawing = null; $('whole-draw-box').hidden = true; }
    return;
  }
  if (key === '?') { e.preventDefault(); $('help').hidden = !$('help').hidden; return; }
  if (!$('help').hidden || !$('export-result').hidden) return;
  const handled = handleKey(key);
  if (handled !== false) e.preventDefault();
}

function handleKey(key) {
  const v = S.view;
  switch (key) {
    case 'i': showView('images'); return;
    case 'g': showView('grid'); return;
    case 'q': showView('query'); return;
    case 'j': case 'ArrowDown':
      if (v === 'images') selectListItem(S.list.sel + 1);
      else if (v === 'grid') selectGridItem(S.grid.sel + 1);
      else if (v === 'query') { S.query.sel = Math.min(S.query.sel + 1, S.query.results.length - 1); markSelected('query-list', S.query.sel); }
      else if (v === 'image' && S.image) selectClue(S.image.sel + 1);
      return;
    case 'k': case 'ArrowUp':
      if (v === 'images') selectListItem(S.list.sel - 1);
      else if (v === 'grid') selectGridItem(S.grid.sel - 1);
      else if (v === 'query') { S.query.sel = Math.max(S.query.sel - 1, 0); markSelected('query-list', S.query.sel); }
      else if (v === 'image' && S.image) selectClue(S.image.sel - 1);
      return;
    case 'ArrowRight': if (v === 'grid') { selectGridItem(S.grid.sel + 1); return; } return false;
    case 'ArrowLeft': if (v === 'grid') { selectGridItem(S.grid.sel - 1); return; } return false;
    case 'n': case 'p': {
      const d = key === 'n' ? 1 : -1;
      if (v === 'image') stepImage(d);
      else if (v === 'images') pageImages(d);
      else if (v === 'grid') pageGrid(d);
      return;
    }
    case 'Enter':
      if (v === 'images') { const im = S.list.items[S.list.sel]; if (im) openImage(im.case, im.id); }
      else if (v === 'grid') { const c = S.grid.items[S.grid.sel]; if (c) openImage(c.case, c.id, c.rank); }
      else if (v === 'query') { const r = S.query.results[S.query.sel]; if (r) openImage(r.case, r.id); }
      else return false;
      return;
    case 'c': case 'x': case 'P': case 'u': {
      const decision = {c: 'confirm', x: 'dismiss', P: 'publish', u: null}[key];
      if (v === 'image') decide(decision);
      else if (v === 'grid') gridDecide(decision);
      else showStatus('Decisions are made on clues: open an image (Enter) or the Grid (g).', 'info');
      return;
    }
    case 'e':
      if (v === 'image') editNote();
      else showStatus('Open the image (Enter) to edit a note.', 'info');
      return;
    case 'r':
      if (v === 'image' && S.image) toggleReviewedOf(S.image.case, S.image.id, !S.image.data.image.reviewed).catch(fail('Not saved'));
      else if (v === 'images') { const im = S.list.items[S.list.sel]; if (im) toggleReviewedOf(im.case, im.id, !im.reviewed).catch(fail('Not saved')); }
      return;
    case 'f':
      if (v === 'image') queryClue();
      else if (v === 'grid') gridFind();
      return;
    case 'w':
      if (v === 'image' && S.image) { if (S.image.whole) hideWhole(); else showWhole(); }
      return;
    default:
      return false;
  }
}

function pageImages(d) {
  const L = S.list, next = L.offset + d * L.limit;
  if (next < 0 || (d > 0 && next >= L.total)) return;
  loadImages(next);
}

function pageGrid(d) {
  const G = S.grid, next = G.offset + d * G.limit;
  if (next < 0 || (d > 0 && next >= G.total)) return;
  loadGrid(next);
}

// ---------------------------------------------------------------- wiring

function wire() {
  document.addEventListener('keydown', onKey);
  window.addEventListener('hashchange', route);
  for (const tab of document.querySelectorAll('#tabs [role="tab"]')) tab.addEventListener('click', () => showView(tab.dataset.view));
  $('help-open').addEventListener('click', () => { $('help').hidden = false; });
  $('help-close').addEventListener('click', () => { $('help').hidden = true; });
  $('export-run').addEventListener('click', runExport);
  $('export-close').addEventListener('click', () => { $('export-result').hidden = true; });

  $('images-filters').addEventListener('submit', (e) => { e.preventDefault(); document.activeElement.blur(); loadImages(0); });
  for (const s of $('images-filters').querySelectorAll('select')) s.addEventListener('change', () => { s.blur(); loadImages(0); });
  $('images-prev').addEventListener('click', () => pageImages(-1));
  $('images-next').addEventListener('click', () => pageImages(1));
  $('images-list').addEventListener('click', (e) => {
    const row = e.target.closest('li[data-image-id]');
    if (row) { selectListItem(Number(row.dataset.index)); openImage(row.dataset.case, row.dataset.imageId); }
  });

  $('grid-filters').addEventListener('submit', (e) => { e.preventDefault(); document.activeElement.blur(); loadGrid(0); });
  for (const s of $('grid-filters').querySelectorAll('select')) s.addEventListener('change', () => { s.blur(); loadGrid(0); });
  $('grid-prev').addEventListener('click', () => pageGrid(-1));
  $('grid-next').addEventListener('click', () => pageGrid(1));
  $('grid-list').addEventListener('click', (e) => {
    const item = e.target.closest('li[data-image-id]');
    if (item) selectGridItem(Number(item.dataset.index));
  });
  $('grid-list').addEventListener('dblclick', (e) => {
    const item = e.target.closest('li[data-image-id]');
    if (item) openImage(item.dataset.case, item.dataset.imageId, item.dataset.clueRank);
  });

  $('query-list').addEventListener('click', (e) => {
    const row = e.target.closest('li[data-image-id]');
    if (row) { S.query.sel = Number(row.dataset.index); markSelected('query-list', S.query.sel); openImage(row.dataset.case, row.dataset.imageId); }
  });

  $('clue-list').addEventListener('click', (e) => {
    const card = e.target.closest('li[data-clue-rank]');
    if (!card || e.target.closest('.note-edit')) return;
    const i = Number(card.dataset.index);
    const button = e.target.closest('button[data-action]');
    if (i !== S.image.sel) selectClue(i);
    if (!button) return;
    const a = button.dataset.action;
    if (a in {confirm: 1, dismiss: 1, publish: 1}) decide(a);
    else if (a === 'clear') decide(null);
    else if (a === 'note') editNote();
    else if (a === 'find') queryClue();
  });
  $('link-list').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-image-id]');
    if (b) openImage(b.dataset.case, b.dataset.imageId);
  });
  $('image-prev').addEventListener('click', () => stepImage(-1));
  $('image-next').addEventListener('click', () => stepImage(1));
  $('image-reviewed').addEventListener('click', () => {
    if (S.image) toggleReviewedOf(S.image.case, S.image.id, !S.image.data.image.reviewed).catch(fail('Not saved'));
  });

  $('whole-show').addEventListener('click', () => { if (S.image && S.image.whole) hideWhole(); else showWhole(); });
  $('whole-frame').addEventListener('mousedown', onWholeDown);
  window.addEventListener('mousemove', onWholeMove);
  window.addEventListener('mouseup', onWholeUp);
  window.addEventListener('resize', placeClueBox);
  $('whole-img').addEventListener('load', placeClueBox);
  $('whole-img').addEventListener('error', () => { if ($('whole-img').getAttribute('src')) showStatus('The whole image could not be loaded.', 'error'); });
  $('query-box-form').addEventListener('submit', queryFromForm);
  $('query-clue-run').addEventListener('click', queryClue);
  $('query-upload').addEventListener('change', queryUpload);
}

// #images, #grid, #query, #image/CASE/ID
async function route() {
  const parts = location.hash.replace(/^#/, '').split('/');
  if (parts[0] === 'image' && parts.length >= 3) {
    await openImage(parts[1], parts[2], parts[3]);
    if (!S.image) showView('images');
  } else {
    showView(['images', 'grid', 'query'].includes(parts[0]) ? parts[0] : 'images');
  }
}

async function start() {
  wire();
  try {
    await loadCase();
  } catch (e) {
    fail('Could not load the case')(e);
  }
  await route();
  document.body.dataset.ready = 'true';
}

start();
