#!/usr/bin/env node
/*
  Headless-Chromium test of the `cluetrace review` web app (pipeline/review/assets), driven with
  playwright-core against a running server:

    node tests/browser/review_browser.mjs --url http://127.0.0.1:PORT/TOKEN/ \
         --phase triage|verify|query|screens --out DIR [--expect JSONFILE]

  triage   keyboard only: open the first image with clues (two or more if the first page has one),
           confirm clue 1, dismiss clue 2, mark clue 3 as publication candidate, note "seen in case 12"
           on clue 1, mark the image reviewed; checks the page and the API show it. Prints the decisions.
  verify   (after a server restart) --expect = what triage printed: the images filter decision=confirm
           lists the image, and the image shows the decisions, the note and the reviewed state; when a clue
           was marked "publish", the Export publication button exports it (written or refused).
  query    --expect = {"case":0,"id":N,"box":[x,y,w,h],"want_ids":[...],"crop":FILE?}: shows the whole image
           (checks it is blurred and grey until clicked), draws the box with the mouse, runs the query
           with the exact box, and checks the result ids equal want_ids as a set; with "crop", uploads that
           file and checks every answer is a view of the object (N or want_ids).
  screens  PNG screenshots for the docs into --out (--expect optional: a triage or query JSON).

  Every phase also checks: the token-less root and a wrong token answer 403/404; the page carries the
  CSP; every request the page makes goes to 127.0.0.1 under the token path (data:/blob: allowed); no
  console error, page error, CSP violation, failed request or HTTP error. Prints one JSON object on
  stdout; exits 0 on success, 1 on failure (the reason on stderr, a screenshot in --out).
  Chromium: /usr/bin/chromium (Debian), or $CHROMIUM.
*/
import fs from 'node:fs';
import path from 'node:path';
import {chromium} from 'playwright-core';

const NOTE = 'seen in case 12';
const TIMEOUT_MS = 15000;

class Failure extends Error {}
const check = (cond, message) => { if (!cond) throw new Failure(message); };

function parseArgs(argv) {
  const a = {};
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (!k.startsWith('--')) throw new Failure('unexpected argument ' + k);
    if (i + 1 >= argv.length) throw new Failure(k + ' needs a value');
    a[k.slice(2)] = argv[++i];
  }
  for (const need of ['url', 'phase', 'out']) check(a[need], 'missing --' + need + ' (usage: --url URL --phase triage|verify|query|screens --out DIR [--expect FILE])');
  check(['triage', 'verify', 'query', 'screens'].includes(a.phase), 'unknown --phase ' + a.phase);
  check(a.phase === 'triage' || a.phase === 'screens' || a.expect, '--phase ' + a.phase + ' needs --expect FILE');
  return a;
}

// ------------------------------------------------------------------ what the page does

const seen = {requests: 0, hosts: new Set(), problems: [], apiCalls: []};

function watch(page, base) {
  page.on('request', (r) => {
    seen.requests++;
    const u = new URL(r.url());
    if (u.protocol === 'data:' || u.protocol === 'blob:') return;
    seen.hosts.add(u.host);
    if (u.hostname !== '127.0.0.1') seen.problems.push('request to a host other than 127.0.0.1: ' + r.url());
    else if (u.port !== base.port) seen.problems.push('request to another port: ' + r.url());
    else if (!u.pathname.startsWith(base.pathname)) seen.problems.push('request outside the token path (not relative?): ' + r.url());
    if (u.pathname.startsWith(base.pathname + 'api/')) seen.apiCalls.push(r.method() + ' ' + u.pathname.slice(base.pathname.length) + u.search);
  });
  page.on('response', (r) => { if (r.status() >= 400) seen.problems.push('HTTP ' + r.status() + ' for ' + r.request().method() + ' ' + r.url()); });
  page.on('requestfailed', (r) => seen.problems.push('request failed: ' + r.url() + ' (' + (r.failure() || {}).errorText + ')'));
  page.on('console', (m) => { if (m.type() === 'error') seen.problems.push('console error: ' + m.text() + (m.location().url ? ' (' + m.location().url + ')' : '')); });
  page.on('pageerror', (e) => seen.problems.push('page error: ' + e.message));
}

function noProblems() {
  check(seen.problems.length === 0, 'the page misbehaved:\n  ' + seen.problems.join('\n  '));
}

// The token guards the app: the root and a wrong token must not serve it.
async function tokenCheck(base) {
  const out = {};
  const wrong = '/' + 'x'.repeat(Math.max(8, base.pathname.length - 2)) + '/';
  for (const p of ['/', wrong, wrong + 'api/case', '/api/case']) {
    const r = await fetch(new URL(p, base), {redirect: 'manual'});
    out[p === wrong ? '/WRONG/' : p === wrong + 'api/case' ? '/WRONG/api/case' : p] = r.status;
    check(r.status === 403 || r.status === 404, 'GET ' + p + ' without the token answered ' + r.status + ', want 403 or 404');
  }
  return out;
}

async function apiGet(base, p) {
  const r = await fetch(new URL(p, base));
  check(r.ok, 'GET ' + p + ' answered ' + r.status);
  return r.json();
}

// ------------------------------------------------------------------ page helpers

const visible = (page, sel) => page.waitForSelector(sel, {state: 'visible'});

async function press(page, key) {
  await page.keyboard.press(key);
}

async function selectedIndex(page, list) {
  return page.$eval(list, (l) => [...l.children].findIndex((c) => c.getAttribute('aria-selected') === 'true'));
}

async function imagesLoaded(page) {
  // The images with a source that are on screen (lazy ones below the fold load later).
  await page.waitForFunction(() => [...document.images].filter((i) => {
    if (!i.getAttribute('src') || !i.offsetParent) return false;
    const r = i.getBoundingClientRect();
    return r.bottom > 0 && r.top < innerHeight;
  }).every((i) => i.complete && i.naturalWidth > 0), null, {timeout: TIMEOUT_MS});
}

async function statusIsNotError(page) {
  const s = await page.$eval('#status', (n) => ({kind: n.dataset.kind || '', text: n.textContent}));
  check(s.kind !== 'error', 'the status line shows an error: ' + s.text);
  return s.text;
}

async function waitImagesList(page) {
  await page.waitForSelector('#view-images:not([hidden])');
  await page.waitForFunction(() => document.querySelector('#images-list > li') || !document.querySelector('#images-empty').hidden);
}

async function rowsOnPage(page) {
  return page.$$eval('#images-list > li', (ls) => ls.map((l) => ({
    case: Number(l.dataset.case), id: Number(l.dataset.imageId), sha256: l.dataset.sha256, clues: Number(l.dataset.clues), reviewed: l.dataset.reviewed === 'true',
  })));
}

// Moves the list selection to `index` with j/k only.
async function keySelect(page, list, index) {
  let at = await selectedIndex(page, list);
  for (let guard = 0; at !== index && guard < 500; guard++) {
    await press(page, at < index ? 'j' : 'k');
    at = await selectedIndex(page, list);
  }
  check(at === index, list + ': could not select item ' + index + ' with j/k (at ' + at + ')');
}

// Next page of the images list with `n`; false when there is none.
async function nextImagesPage(page) {
  if (await page.$eval('#images-next', (b) => b.disabled)) return false;
  const before = await page.textContent('#images-range');
  await press(page, 'n');
  await page.waitForFunction((b) => document.querySelector('#images-range').textContent !== b, before);
  return true;
}

async function waitImageView(page, c, id) {
  await page.waitForSelector('#view-image:not([hidden])[data-image-id="' + id + '"][data-case="' + c + '"]');
  await page.waitForFunction(() => document.querySelector('#clue-list > li') || !document.querySelector('#clue-empty').hidden);
}

async function openByHash(page, base, c, id) {
  await page.evaluate((h) => { location.hash = h; }, '#image/' + c + '/' + id);
  await waitImageView(page, c, id);
}

const card = (rank) => '#clue-list > li[data-clue-rank="' + rank + '"]';

async function cardState(page, rank) {
  return page.$eval(card(rank), (li) => ({
    rank: Number(li.dataset.clueRank), decision: li.dataset.decision, selected: li.getAttribute('aria-selected') === 'true',
    note: (li.querySelector('.note') || {}).textContent || '', who: (li.querySelector('.who') || {}).textContent || '',
    badge: (li.querySelector('.badge') || {}).textContent || '', outline: getComputedStyle(li).outlineStyle,
  }));
}

async function waitDecision(page, rank, decision) {
  await page.waitForSelector(card(rank) + '[data-decision="' + decision + '"]');
}

// ------------------------------------------------------------------ phases

async function triage(page, base, out) {
  const info = await apiGet(base, 'api/case');
  await waitImagesList(page);
  // The first image with two or more clues (so that a dismissal is exercised), else the first with one.
  let pick = null, fallback = null;
  for (let pages = 0; pages < 200 && !pick; pages++) {
    const rows = await rowsOnPage(page);
    const i2 = rows.findIndex((r) => r.clues >= 2), i1 = rows.findIndex((r) => r.clues >= 1);
    if (i2 >= 0) pick = {index: i2, row: rows[i2]};
    else if (i1 >= 0 && !fallback) fallback = {index: i1, row: rows[i1], page: pages};
    if (pick || fallback || !(await nextImagesPage(page))) break;
  }
  pick = pick || fallback;
  check(pick, 'no image with clues in the list');
  await keySelect(page, '#images-list', pick.index);
  await press(page, 'Enter');
  await waitImageView(page, pick.row.case, pick.row.id);
  const sha256 = await page.$eval('#view-image', (v) => v.dataset.sha256);
  const pathText = await page.textContent('#image-title');
  const ranks = await page.$$eval('#clue-list > li', (ls) => ls.map((l) => Number(l.dataset.clueRank)));
  check(ranks.length >= 1, 'the image view lists no clue although the list said ' + pick.row.clues);
  const first = await cardState(page, ranks[0]);
  check(first.selected, 'clue ' + ranks[0] + ' is not selected on opening');
  check(first.outline !== 'none', 'the selected clue has no visible outline');

  const plan = [['c', 'confirm'], ['x', 'dismiss'], ['Shift+P', 'publish']].slice(0, Math.min(3, ranks.length));
  const decisions = [];
  for (let k = 0; k < plan.length; k++) {
    if (k > 0) await press(page, 'j');
    check((await cardState(page, ranks[k])).selected, 'j did not select clue ' + ranks[k]);
    await press(page, plan[k][0]);
    await waitDecision(page, ranks[k], plan[k][1]);
    decisions.push({sha256, rank: ranks[k], decision: plan[k][1]});
  }
  // Back to clue 1 and write the note.
  for (let k = plan.length - 1; k > 0; k--) await press(page, 'k');
  check((await cardState(page, ranks[0])).selected, 'k did not come back to clue ' + ranks[0]);
  await press(page, 'e');
  await page.waitForSelector('#note-input:focus');
  // A key typed into the note must not act as a command (x would dismiss).
  await page.keyboard.type(NOTE);
  await press(page, 'Enter');
  await page.waitForFunction(([sel, note]) => { const n = document.querySelector(sel + ' .note'); return n && n.textContent === note; }, [card(ranks[0]), NOTE]);
  decisions[0].note = NOTE;
  // Reviewed, whatever it was before.
  for (let k = 0; k < 2; k++) {
    const before = await page.$eval('#view-image', (v) => v.dataset.reviewed);
    if (before === 'true') break;
    await press(page, 'r');
    await page.waitForFunction((b) => document.querySelector('#view-image').dataset.reviewed !== b, before);
  }
  check(await page.$eval('#view-image', (v) => v.dataset.reviewed) === 'true', 'r did not mark the image reviewed');

  // What the page shows.
  for (const d of decisions) {
    const s = await cardState(page, d.rank);
    check(s.decision === d.decision, 'clue ' + d.rank + ' shows ' + s.decision + ', want ' + d.decision);
    check(/decided by/.test(s.who) && s.who.includes(info.analyst || ''), 'clue ' + d.rank + ' does not show who decided: "' + s.who + '"');
    if (d.note) check(s.note === d.note, 'clue ' + d.rank + ' shows the note "' + s.note + '"');
  }
  const statusText = await statusIsNotError(page);
  // What the server stored.
  const stored = await apiGet(base, 'api/image?case=' + pick.row.case + '&id=' + pick.row.id);
  for (const d of decisions) {
    const c = stored.clues.find((x) => x.rank === d.rank);
    check(c && c.decision === d.decision, 'the server has ' + (c && c.decision) + ' for clue ' + d.rank + ', want ' + d.decision);
    if (d.note) check(c.note === d.note, 'the server has the note "' + c.note + '" for clue ' + d.rank);
  }
  check(stored.image.reviewed === true, 'the server does not have the image as reviewed');
  await page.screenshot({path: path.join(out, 'triage.png')});
  return {image: {case: pick.row.case, id: pick.row.id, sha256, path: pathText}, decisions, note: {rank: ranks[0], text: NOTE}, reviewed: true, clues: ranks.length, status: statusText};
}

async function verify(page, base, expect) {
  check(Array.isArray(expect.decisions) && expect.decisions.length, '--expect has no decisions');
  const sha256 = expect.decisions[0].sha256;
  await waitImagesList(page);
  // The filter decision=confirm must list the image.
  const reloaded = page.waitForResponse((r) => r.url().includes('api/images') && r.url().includes('decision=confirm'));
  await page.selectOption('#filter-decision', 'confirm');
  await reloaded;
  await waitImagesList(page);
  let found = null;
  for (let pages = 0; pages < 200 && !found; pages++) {
    const rows = await rowsOnPage(page);
    const i = rows.findIndex((r) => r.sha256 === sha256);
    if (i >= 0) found = {index: i, row: rows[i]};
    else if (!(await nextImagesPage(page))) break;
  }
  check(found, 'the images filter decision=confirm does not list ' + sha256);
  check(found.row.reviewed, 'the images list does not show ' + sha256 + ' as reviewed');
  await keySelect(page, '#images-list', found.index);
  await press(page, 'Enter');
  await waitImageView(page, found.row.case, found.row.id);
  check(await page.$eval('#view-image', (v) => v.dataset.sha256) === sha256, 'opened another image');
  const checked = [];
  for (const d of expect.decisions.filter((x) => x.sha256 === sha256)) {
    const s = await cardState(page, d.rank);
    check(s.decision === d.decision, 'after the restart clue ' + d.rank + ' shows ' + s.decision + ', want ' + d.decision);
    check(/decided by/.test(s.who), 'clue ' + d.rank + ' does not show who decided');
    if (d.note) check(s.note === d.note, 'after the restart clue ' + d.rank + ' shows the note "' + s.note + '", want "' + d.note + '"');
    checked.push({rank: d.rank, decision: s.decision, note: s.note, who: s.who});
  }
  if (expect.reviewed !== undefined) {
    const r = await page.$eval('#view-image', (v) => v.dataset.reviewed);
    check(r === String(expect.reviewed), 'after the restart the image shows reviewed=' + r);
  }
  // The publication export from its button: the clues marked "publish" go through export-crops.
  let exported = null;
  if (expect.decisions.some((d) => d.decision === 'publish')) {
    const answered = page.waitForResponse((r) => r.url().includes('api/export'));
    await page.click('#export-run');
    const res = await answered;
    check(res.ok(), 'api/export answered ' + res.status());
    await visible(page, '#export-result');
    const text = await page.textContent('#export-summary');
    const m = /(\d+) crops written, (\d+) refused/.exec(text);
    check(m && Number(m[1]) + Number(m[2]) >= 1, 'the export wrote and refused nothing: ' + text);
    exported = {written: Number(m[1]), refused: Number(m[2]), text};
    await press(page, 'Escape');
  }
  await statusIsNotError(page);
  return {image: {case: found.row.case, id: found.row.id, sha256}, checked, reviewed: true, listed_by_filter: 'decision=confirm', exported};
}

// Shows the whole image: veiled first, clear after a click.
async function showWholeImage(page) {
  await page.click('#whole-show');
  await page.waitForFunction(() => { const i = document.querySelector('#whole-img'); return i.complete && i.naturalWidth > 0; });
  const veiled = await page.$eval('#whole-img', (i) => getComputedStyle(i).filter);
  check(/blur\(24px\)/.test(veiled) && /grayscale\(1\)/.test(veiled), 'the whole image is not blurred and grey before a click: filter ' + veiled);
  await page.click('#whole-img');
  const clear = await page.$eval('#whole-img', (i) => getComputedStyle(i).filter);
  check(clear === 'none', 'a click did not lift the veil: filter ' + clear);
  return veiled;
}

async function runQueryUI(page, box) {
  for (const [k, v] of [['x', box[0]], ['y', box[1]], ['w', box[2]], ['h', box[3]]]) await page.fill('#query-' + k, String(v));
  const answered = page.waitForResponse((r) => r.url().includes('api/query'));
  await page.click('#query-box-run');
  const res = await answered;
  check(res.ok(), 'api/query answered ' + res.status());
  await page.waitForSelector('#view-query:not([hidden])');
  await imagesLoaded(page);
  return page.$$eval('#query-list > li', (ls) => ls.map((l) => ({
    case: Number(l.dataset.case), id: Number(l.dataset.imageId), inliers: Number(l.dataset.inliers),
    region: (l.querySelector('img') || {}).getAttribute ? l.querySelector('img').getAttribute('src') : null,
  })));
}

async function query(page, base, expect) {
  check(Array.isArray(expect.box) && expect.box.length === 4 && Array.isArray(expect.want_ids), '--expect needs box [x,y,w,h] and want_ids');
  const c = expect.case || 0;
  await openByHash(page, base, c, expect.id);
  const filter = await showWholeImage(page);
  // Draw the box with the mouse, then check the page read it back in the image's pixels.
  const size = await page.$eval('#view-image', (v) => [Number(v.dataset.width), Number(v.dataset.height)]);
  const rect = await (await page.$('#whole-img')).boundingBox();
  const W = size[0] || rect.width, H = size[1] || rect.height;
  const sx = rect.width / W, sy = rect.height / H;
  const [x, y, w, h] = expect.box;
  await page.mouse.move(rect.x + x * sx + 0.5, rect.y + y * sy + 0.5);
  await page.mouse.down();
  await page.mouse.move(rect.x + (x + w / 2) * sx, rect.y + (y + h / 2) * sy, {steps: 4});
  await page.mouse.move(rect.x + (x + w) * sx - 0.5, rect.y + (y + h) * sy - 0.5, {steps: 4});
  await page.mouse.up();
  const drawn = await page.$eval('#view-image', (v) => v.dataset.drawnBox || '');
  check(drawn, 'drawing on the whole image gave no box');
  const got = drawn.split(',').map(Number);
  const tol = Math.ceil(2 / Math.min(sx, sy)) + 1;
  check(got.every((v, k) => Math.abs(v - expect.box[k]) <= tol), 'the drawn box ' + drawn + ' is not the box ' + expect.box + ' (±' + tol + ')');
  // Run it with the exact box (the drawn one is within a pixel or two of it).
  const results = await runQueryUI(page, expect.box);
  const ids = results.map((r) => r.id);
  const want = [...new Set(expect.want_ids.map(Number))].sort((a, b) => a - b);
  const gotSet = [...new Set(ids)].sort((a, b) => a - b);
  check(ids.length === gotSet.length, 'an image is listed twice: ' + ids);
  check(JSON.stringify(gotSet) === JSON.stringify(want), 'query results ' + JSON.stringify(ids) + ', want ' + JSON.stringify(want));
  for (const r of results) check(r.region && !r.region.startsWith('/') && !/^[a-z]+:/i.test(r.region), 'result ' + r.id + ' has no relative region crop: ' + r.region);
  // Each result opens its image.
  if (results.length) {
    await press(page, 'Enter');
    await waitImageView(page, results[0].case, results[0].id);
  }
  await statusIsNotError(page);
  const summary = await page.textContent('#query-summary');
  // An uploaded crop of the object (--expect "crop": a file): every answer is a view of it (the crop's own
  // picture among them), at least one.
  let uploaded = null;
  if (expect.crop) {
    await openByHash(page, base, c, expect.id);
    const answered = page.waitForResponse((r) => r.url().includes('api/query'));
    await page.setInputFiles('#query-upload', expect.crop);
    const res = await answered;
    check(res.ok(), 'api/query (upload) answered ' + res.status());
    await page.waitForSelector('#view-query:not([hidden])');
    await imagesLoaded(page);
    const up = await page.$$eval('#query-list > li', (ls) => ls.map((l) => Number(l.dataset.imageId)));
    const views = new Set([...want, Number(expect.id)]);
    check(up.length >= 1, 'the uploaded crop found nothing');
    check(up.every((i) => views.has(i)), 'the uploaded crop found ' + JSON.stringify(up) + ', not only views of the object ' + JSON.stringify([...views]));
    uploaded = up;
    await statusIsNotError(page);
  }
  return {ids, inliers: results.map((r) => r.inliers), drawn_box: got, box: expect.box, veil: filter, summary, uploaded};
}

async function screens(page, base, out, expect) {
  const files = [];
  const shot = async (name) => {
    await imagesLoaded(page);
    const f = path.join(out, name);
    await page.screenshot({path: f});
    files.push(f);
  };
  await waitImagesList(page);
  await shot('review-images.png');
  let target = expect && expect.image ? expect.image : expect && expect.id !== undefined ? {case: expect.case || 0, id: expect.id} : null;
  if (!target) {
    const rows = await rowsOnPage(page);
    const r = rows.find((x) => x.clues > 0);
    check(r, 'no image with clues on the first page');
    target = r;
  }
  await openByHash(page, base, target.case, target.id);
  await shot('review-image.png');
  await page.click('#whole-show');
  await page.waitForFunction(() => { const i = document.querySelector('#whole-img'); return i.complete && i.naturalWidth > 0; });
  await shot('review-image-veiled.png');
  await press(page, 'w');
  await press(page, '?');
  await visible(page, '#help');
  await shot('review-help.png');
  await press(page, 'Escape');
  await press(page, 'g');
  await page.waitForFunction(() => document.querySelector('#grid-list > li') || !document.querySelector('#grid-empty').hidden);
  await shot('review-grid.png');
  // A query: the --expect box (or its "query" member, beside a triage's "image"), or the first clue of the image
  // that has a box.
  const query = expect && expect.query && Array.isArray(expect.query.box) ? expect.query : expect && Array.isArray(expect.box) ? expect : null;
  if (query) {
    await openByHash(page, base, query.case || 0, query.id);
    await runQueryUI(page, query.box);
  } else {
    await openByHash(page, base, target.case, target.id);
    const answered = page.waitForResponse((r) => r.url().includes('api/query'));
    await press(page, 'f');
    await answered;
    await page.waitForSelector('#view-query:not([hidden])');
  }
  await shot('review-query.png');
  return {files};
}

// ------------------------------------------------------------------ main

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const base = new URL(args.url.endsWith('/') ? args.url : args.url + '/');
  check(base.hostname === '127.0.0.1', '--url must be on 127.0.0.1');
  fs.mkdirSync(args.out, {recursive: true});
  const expect = args.expect ? JSON.parse(fs.readFileSync(args.expect, 'utf8')) : null;
  const result = {phase: args.phase, url: base.origin + '/…/', ok: false};
  result.token_check = await tokenCheck(base);

  const browser = await chromium.launch({executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: ['--no-sandbox']});
  let page;
  try {
    const context = await browser.newContext({viewport: {width: 1280, height: 900}, acceptDownloads: false});
    page = await context.newPage();
    page.setDefaultTimeout(TIMEOUT_MS);
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline')));
    });
    watch(page, base);
    const response = await page.goto(base.href);
    check(response && response.ok(), 'the page answered ' + (response && response.status()));
    const csp = response.headers()['content-security-policy'] || '';
    for (const want of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'"]) check(csp.includes(want), 'the page CSP lacks ' + want + ': "' + csp + '"');
    result.csp = csp;
    await page.waitForSelector('body[data-ready="true"]');
    noProblems();
    if (args.phase === 'triage') Object.assign(result, await triage(page, base, args.out));
    else if (args.phase === 'verify') Object.assign(result, await verify(page, base, expect));
    else if (args.phase === 'query') Object.assign(result, await query(page, base, expect));
    else Object.assign(result, await screens(page, base, args.out, expect));
    await page.waitForTimeout(200); // let late console errors arrive
    noProblems();
    result.ok = true;
  } catch (e) {
    result.error = e.message;
    if (page) await page.screenshot({path: path.join(args.out, 'failure-' + args.phase + '.png')}).catch(() => {});
    throw Object.assign(e, {result});
  } finally {
    result.requests = seen.requests;
    result.hosts = [...seen.hosts];
    result.api_calls = seen.apiCalls.length;
    await browser.close();
    process.stdout.write(JSON.stringify(result) + '\n');
  }
}

main().then(() => process.exit(0), (e) => {
  process.stderr.write('review_browser: ' + (e instanceof Failure ? '' : 'error: ') + e.message + '\n');
  process.exit(1);
});
