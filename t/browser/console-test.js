#!/usr/bin/env node
// Drives the web console (console/console.html, served by the module at
// {api}/admin/console) in the system's Chromium through playwright-core,
// for t/080-console.t. One step per run; the .t file runs an emulated
// device between them:
//
//   node console-test.js step1   the device list, the device page, a LOCK
//                                queued with its button and shown pending;
//                                prints "RESULT {"lock": "<operation id>"}"
//   node console-test.js step2   the same LOCK shown done with status 200
//                                (WINMDM_LOCK_ID names it)
//
// Environment: WINMDM_CONSOLE_URL (the console's URL), WINMDM_ADMIN_USER,
// WINMDM_ADMIN_PASSWORD, WINMDM_DEVICE_ID, WINMDM_DEVICE_NAME,
// WINMDM_DEVICE_USER, WINMDM_SCREENSHOTS (a directory), WINMDM_CHROMIUM
// (default /usr/bin/chromium).
//
// Exits 0 when every expectation holds; otherwise prints "FAIL: <what>"
// on stderr and exits 1 (2 for a usage error), so the .t file can say
// what went wrong.
'use strict';

// playwright-core 1.61 is the last to run on Node.js 18, Debian 12's own
// nodejs package (1.62 and later need 20): an older Node.js is said so
// instead of failing somewhere inside it.
const major = Number(process.versions.node.split('.')[0]);
if (major < 18) {
  console.error(`FAIL: Node.js ${process.versions.node} is too old for playwright-core (18 or later)`);
  process.exit(1);
}

const fs = require('fs');
const os = require('os');
const path = require('path');
const {chromium} = require('playwright-core');

// Generous: the first start of Chromium in a fresh profile is slow on a
// loaded CI machine, and the page polls the API every few seconds.
const TIMEOUT = 30000;

class Expectation extends Error {}

function need(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`usage: ${name} must be set (see the top of ${path.basename(__filename)})`);
    process.exit(2);
  }
  return v;
}

function expect(cond, what) {
  if (!cond) throw new Expectation(what);
}

// Waits for a locator to show up; a timeout becomes a readable failure.
async function waitFor(locator, what, state = 'visible') {
  try {
    await locator.first().waitFor({state, timeout: TIMEOUT});
  } catch (e) {
    throw new Expectation(`${what} (waited ${TIMEOUT / 1000} s)`);
  }
}

// Waits until fn(arg) is true in the page.
async function waitUntil(page, fn, arg, what) {
  try {
    await page.waitForFunction(fn, arg, {timeout: TIMEOUT, polling: 100});
  } catch (e) {
    throw new Expectation(`${what} (waited ${TIMEOUT / 1000} s)`);
  }
}

const env = {
  url: need('WINMDM_CONSOLE_URL'),
  user: need('WINMDM_ADMIN_USER'),
  password: need('WINMDM_ADMIN_PASSWORD'),
  device: need('WINMDM_DEVICE_ID'),
  deviceName: process.env.WINMDM_DEVICE_NAME || '',
  deviceUser: process.env.WINMDM_DEVICE_USER || '',
  shots: need('WINMDM_SCREENSHOTS'),
  chromium: process.env.WINMDM_CHROMIUM || '/usr/bin/chromium',
};
const origin = new URL(env.url).origin;
const adminBase = origin + new URL(env.url).pathname.replace(/\/admin\/.*$/, '/admin');

// Launches Chromium with a new, empty profile, the administrator's
// credentials answering httpd's Basic challenge. Everything the page
// does is watched: script errors, console errors (CSP violations are
// reported there) and any request that leaves the server's origin.
async function open() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'winmdm-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: env.chromium,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
           '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync'],
    httpCredentials: {username: env.user, password: env.password},
    viewport: {width: 1280, height: 900},
    locale: 'en-US',
    timezoneId: 'UTC',
  });
  context.setDefaultTimeout(TIMEOUT);
  const problems = [];
  const page = context.pages()[0] || await context.newPage();
  page.on('pageerror', (e) => problems.push(`script error: ${e.message}`));
  page.on('console', (m) => {
    // An API refusal is reported by the browser as a failed load too;
    // the page itself must show it, which the steps check.
    if (m.type() === 'error' && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) {
      problems.push(`console error: ${m.text()}`);
    }
  });
  // The API's refusals are expected (the steps provoke one); anything
  // else the page loads must exist.
  page.on('response', (r) => {
    if (r.status() >= 400 && !r.url().startsWith(adminBase + '/')) {
      problems.push(`HTTP ${r.status()} for ${r.url()}`);
    }
  });
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(origin + '/') && !u.startsWith('data:')) {
      problems.push(`request outside the server's origin: ${u}`);
    }
  });
  const close = async () => {
    await context.close().catch(() => {});
    fs.rmSync(profile, {recursive: true, force: true});
  };
  return {context, page, problems, close};
}

async function shot(page, name) {
  fs.mkdirSync(env.shots, {recursive: true});
  const file = path.join(env.shots, name);
  await page.screenshot({path: file, fullPage: true});
  console.log(`screenshot ${file}`);
}

// Opens the console and checks what the module serves it with.
async function load(page, hash) {
  const res = await page.goto(env.url + (hash || ''), {waitUntil: 'load'});
  expect(res, `no response for ${env.url}`);
  expect(res.status() === 200, `GET ${env.url}: HTTP ${res.status()}, not 200`);
  const csp = res.headers()['content-security-policy'] || '';
  expect(/default-src 'none'/.test(csp),
         `the console came without its Content-Security-Policy (got "${csp}")`);
}

function rowOf(page, id) {
  return page.locator(`#devices tr[data-device-id="${id}"]`);
}

function opRow(page, id) {
  return page.locator(`#ops-table tr[data-op-id="${id}"]`);
}

// The device page has loaded its history once.
async function devicePageReady(page) {
  await waitFor(page.locator('#device-dl'), 'the device page shows no device fields');
  await waitUntil(page, () => {
    const ops = document.getElementById('operations');
    return ops && !ops.hasAttribute('aria-busy');
  }, null, 'the operation history never finished loading');
}

// No horizontal scrolling of the page at phone width: wide tables
// scroll inside their own frame.
async function fitsWidth(page, what) {
  const w = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  expect(w[0] <= w[1], `${what}: the page is ${w[0]} px wide in a ${w[1]} px window`);
}

// Every form control has a label, every button is a <button>.
async function accessible(page, what) {
  const bad = await page.evaluate(() => {
    const out = [];
    document.querySelectorAll('input, select, textarea').forEach((e) => {
      if (!(e.labels && e.labels.length) && !e.getAttribute('aria-label')) {
        out.push(`${e.tagName.toLowerCase()}#${e.id || '?'} has no label`);
      }
    });
    document.querySelectorAll('[role=button], a:not([href])').forEach((e) => {
      out.push(`${e.tagName.toLowerCase()} acting as a button: ${e.textContent.trim()}`);
    });
    return out;
  });
  expect(bad.length === 0, `${what}: ${bad.join('; ')}`);
}

// Values from the API are text: the markup in the device's name (see
// t/080-console.t) stays visible as written and creates no element.
async function asText(page, what) {
  const injected = await page.evaluate(() => document.querySelectorAll('main img').length);
  expect(injected === 0, `${what}: markup from the API became ${injected} <img> element(s)`);
  const ran = await page.evaluate(() => window.injected !== undefined);
  expect(!ran, `${what}: a script from the API ran`);
  if (env.deviceName) {
    const shown = await page.locator('main').innerText();
    expect(shown.includes(env.deviceName), `${what}: the device name is not shown as written`);
  }
}

async function step1(page) {
  // --- the device list ---
  await load(page, '');
  const row = rowOf(page, env.device);
  await waitFor(row, `the device list does not show device ${env.device}`);
  const cells = await row.locator('td').allInnerTexts();
  expect(cells.length === 6, `the device row has ${cells.length} cells, not 6`);
  if (env.deviceName) {
    expect(cells[1].trim() === env.deviceName,
           `the device row names "${cells[1]}", not "${env.deviceName}"`);
  }
  if (env.deviceUser) {
    expect(cells[2].trim() === env.deviceUser,
           `the device row's user is "${cells[2]}", not "${env.deviceUser}"`);
  }
  expect(cells[4].trim() === 'enrolled', `the device row's state is "${cells[4]}", not enrolled`);
  await asText(page, 'the device list');
  expect(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/.test(cells[5].trim()),
         `the device row's last seen is "${cells[5]}", not a time`);
  // Keyboard focus is visible.
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  const outline = await page.evaluate(() => {
    const e = document.activeElement;
    const s = e && getComputedStyle(e);
    return e && e !== document.body ? `${s.outlineStyle} ${s.outlineWidth}` : 'nothing focused';
  });
  expect(/^solid [1-9]/.test(outline), `the focused element shows no outline (${outline})`);
  await shot(page, '01-device-list.png');

  // --- the device page ---
  await row.locator('a').click();
  await devicePageReady(page);
  expect(decodeURIComponent(new URL(page.url()).hash) === `#/devices/${env.device}`,
         `the device link led to ${page.url()}`);
  const title = await page.locator('h1').innerText();
  expect(title.includes(env.device), `the device page's heading is "${title}"`);
  const inv = await page.locator('#inventory-table').innerText().catch(() => '');
  expect(inv.includes('./DevInfo/Man'), 'the device page shows no inventory (./DevInfo/Man)');
  const help = await page.locator('#remote-help').innerText();
  expect(/RemoteLock/.test(help) && /desktop/.test(help),
         'the device page does not say that desktop Windows lacks RemoteLock');
  await asText(page, 'the device page');
  await accessible(page, 'the device page');
  await shot(page, '02-device-page.png');

  // WIPE asks first; declining queues nothing.
  let asked = '';
  page.once('dialog', (d) => { asked = d.message(); d.dismiss(); });
  await page.getByRole('button', {name: 'Wipe', exact: true}).click();
  await waitFor(page.locator('#msg', {hasText: 'Wipe cancelled.'}),
                'declining the Wipe confirmation did not say "Wipe cancelled."');
  expect(/Wipe this device/.test(asked), `Wipe asked "${asked}" instead of a confirmation`);
  expect(await page.locator('#ops-table tr[data-op-type="WIPE"]').count() === 0,
         'a WIPE was queued although the confirmation was declined');

  // The API's own error message reaches the administrator.
  await page.locator('#syncml summary').click();
  await page.getByLabel('SyncML commands').fill('<Status><CmdID>1</CmdID><Data>200</Data></Status>');
  await page.getByRole('button', {name: 'Queue SyncML'}).click();
  await waitFor(page.locator('#err', {hasText: 'SYNCML was not queued:'}),
                'a refused SYNCML shows no error message');
  const err = await page.locator('#err').innerText();
  expect(!/the server answered/.test(err),
         `the error shows no message of the API: "${err}"`);
  await page.locator('#syncml summary').click();

  // --- LOCK ---
  await page.getByRole('button', {name: 'Lock', exact: true}).click();
  const msg = page.locator('#msg', {hasText: /LOCK queued as operation \d+/});
  await waitFor(msg, 'clicking Lock did not report a queued operation');
  const lock = /LOCK queued as operation (\d+)/.exec(await msg.innerText())[1];
  const lockRow = page.locator(
    `#ops-table tr[data-op-id="${lock}"][data-op-type="LOCK"][data-op-state="pending"]`);
  await waitFor(lockRow, `the history does not show LOCK ${lock} pending`);
  const state = await lockRow.locator('td').nth(2).innerText();
  expect(state.trim() === 'pending', `LOCK ${lock} shows "${state}", not pending`);
  const first = await page.locator('#ops-table tbody tr').first().getAttribute('data-op-id');
  expect(first === lock, `the newest operation is not first in the history (first: ${first})`);
  await shot(page, '03-lock-pending.png');

  // --- phone width ---
  await page.setViewportSize({width: 390, height: 844});
  await fitsWidth(page, 'the device page at phone width');
  await shot(page, '04-device-page-phone.png');
  await page.getByRole('link', {name: /All devices/}).click();
  await waitFor(rowOf(page, env.device), 'the device list (phone width) does not show the device');
  await fitsWidth(page, 'the device list at phone width');
  await shot(page, '05-device-list-phone.png');
  return {lock};
}

async function step2(page) {
  const lock = need('WINMDM_LOCK_ID');
  await load(page, `#/devices/${encodeURIComponent(env.device)}`);
  await devicePageReady(page);
  // A reload, as an administrator coming back to the page would.
  await page.reload({waitUntil: 'load'});
  await devicePageReady(page);
  const row = opRow(page, lock);
  await waitFor(row, `the history does not show operation ${lock}`);
  const st = await row.getAttribute('data-op-state');
  const code = await row.getAttribute('data-op-status');
  expect(st === 'done' && code === '200', `LOCK ${lock} is ${st} with status "${code}", not done with 200`);
  const cells = await row.locator('td').allInnerTexts();
  expect(cells[1].trim() === 'LOCK' && cells[2].trim() === 'done' && /^200\b/.test(cells[3].trim()),
         `the LOCK row reads "${cells.join(' | ')}"`);
  expect(/UTC$/.test(cells[5].trim()) && /UTC$/.test(cells[6].trim()),
         `the LOCK row has no sent or completed time: "${cells.join(' | ')}"`);
  // Its results, on demand.
  await row.getByRole('button', {name: `Show results of operation ${lock}`}).click();
  await waitFor(page.locator(`#results-${lock}`, {hasText: `Operation ${lock} (LOCK): done`}),
                `the results of operation ${lock} do not show`);
  await shot(page, '06-lock-done.png');
  return {lock};
}

async function main() {
  const step = process.argv[2];
  if (step !== 'step1' && step !== 'step2') {
    console.error('usage: console-test.js step1|step2');
    process.exit(2);
  }
  let b;
  try {
    b = await open();
  } catch (e) {
    console.error(`FAIL: Chromium (${env.chromium}) did not start: ${e.message}`);
    process.exit(1);
  }
  let code = 0;
  try {
    const out = step === 'step1' ? await step1(b.page) : await step2(b.page);
    expect(b.problems.length === 0, b.problems.join('; '));
    console.log('RESULT ' + JSON.stringify(out));
  } catch (e) {
    code = 1;
    console.error(`FAIL: ${step}: ${e instanceof Expectation ? e.message : e.stack || e}`);
    if (b.problems.length) console.error(`also: ${b.problems.join('; ')}`);
    await shot(b.page, `failed-${step}.png`).catch(() => {});
  } finally {
    await b.close();
  }
  process.exit(code);
}

main();
