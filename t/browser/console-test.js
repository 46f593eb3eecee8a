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
//   node console-test.js step3   groups and profiles made with the console:
//                                a group with the device in it (another
//                                added, then removed), a profile refused,
//                                then created, assigned to the group and
//                                changed to version 2, and a second
//                                profile (Cameras) for every device; prints
//                                "RESULT {"group": id, "profile": id,
//                                "cameras": id}"
//   node console-test.js step4   after the device's session: the profile
//                                verified on the device page, who queued
//                                the LOCK, the device's audit log, the
//                                compliance bar, the device list's summary,
//                                search and filters (WINMDM_GROUP_ID,
//                                WINMDM_PROFILE_ID, WINMDM_CAMERAS_ID,
//                                WINMDM_OTHER_ID, WINMDM_OTHER_NAME)
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
  expect(cells[7].trim() === env.user,
         `the LOCK row says it was queued by "${cells[7]}", not ${env.user}`);
  // Its results, on demand.
  await row.getByRole('button', {name: `Show results of operation ${lock}`}).click();
  await waitFor(page.locator(`#results-${lock}`, {hasText: `Operation ${lock} (LOCK): done`}),
                `the results of operation ${lock} do not show`);
  await shot(page, '06-lock-done.png');
  return {lock};
}

// Text of every cell of the rows of a table, by row.
async function rowsOf(page, selector) {
  return page.locator(`${selector} tbody tr`).evaluateAll(
    (trs) => trs.map((tr) => Array.from(tr.cells).map((td) => td.innerText.trim())));
}

// The device IDs a device list shows, once it has loaded.
async function listed(page, what) {
  await waitUntil(page, () => {
    const s = document.getElementById('list-status');
    return s && s.getAttribute('data-loaded') === location.hash;
  }, null, `${what}: the device list never finished loading`);
  return page.locator('#devices tbody tr').evaluateAll(
    (trs) => trs.map((tr) => tr.getAttribute('data-device-id')));
}

// Goes to another page of the console, as a link would, once the page
// has switched to it.
async function goHash(page, hash) {
  await page.evaluate((h) => new Promise((resolve) => {
    if (location.hash === h) { resolve(); return; }
    window.addEventListener('hashchange', () => setTimeout(resolve, 0), {once: true});
    location.hash = h;
  }), hash);
}

async function step3(page) {
  const other = need('WINMDM_OTHER_ID');
  await load(page, '');
  await waitFor(rowOf(page, env.device), 'the device list does not show the device');

  // --- groups ---
  await page.getByRole('link', {name: 'Groups', exact: true}).click();
  await waitFor(page.locator('#groups tbody tr'), 'the groups page shows no group table');
  const nav = await page.locator('header nav a[aria-current="page"]').innerText();
  expect(nav.trim() === 'Groups', `the navigation marks "${nav}" as the current page, not Groups`);
  let groups = await rowsOf(page, '#groups');
  expect(groups.length === 1 && groups[0][0] === 'All devices',
         `the groups list does not start with the implicit All devices: ${JSON.stringify(groups)}`);
  await page.getByLabel('Name of the new group').fill('Finance');
  await page.getByRole('button', {name: 'Create group'}).click();
  await waitFor(page.locator('h1', {hasText: 'Group Finance'}), 'creating a group did not open its page');
  const gm = /#\/groups\/(\d+)$/.exec(page.url());
  expect(gm, `the new group's page is at ${page.url()}`);
  const group = gm[1];
  await waitFor(page.locator('#msg', {hasText: 'Group "Finance" created.'}), 'no message that the group was created');
  // A name taken: the API's 409 reaches the administrator.
  await page.getByRole('link', {name: /All groups/}).click();
  await waitFor(page.locator(`#groups tr[data-group-id="${group}"]`), 'the groups list does not show the new group');
  groups = await rowsOf(page, '#groups');
  expect(groups[0][0] === 'All devices' && groups[1][0] === 'Finance' && groups[1][1] === '0',
         `the groups list reads ${JSON.stringify(groups)}`);
  await page.getByLabel('Name of the new group').fill('Finance');
  await page.getByLabel('Name of the new group').press('Enter');
  await waitFor(page.locator('#err', {hasText: 'a group has that name'}),
                'a second group of the same name shows no error');
  await page.locator(`#groups tr[data-group-id="${group}"] a`).click();
  await waitFor(page.locator('h1', {hasText: 'Group Finance'}), 'the group link does not open the group');

  // Members: two devices and an unknown one; the second is removed again.
  await page.getByLabel('DeviceIDs to add').fill(`${env.device}, ${other}\nNO-SUCH-DEVICE`);
  await page.getByRole('button', {name: 'Add to group'}).click();
  await waitFor(page.locator('#msg', {hasText: 'Added 2 devices'}), 'adding two devices did not say "Added 2 devices"');
  await waitFor(page.locator('#err', {hasText: 'NO-SUCH-DEVICE'}), 'the unknown DeviceID is not named');
  await waitFor(page.locator(`#members tr[data-device-id="${other}"]`), 'the members do not show the second device');
  let members = await page.locator('#members tbody tr').evaluateAll((t) => t.map((r) => r.getAttribute('data-device-id')));
  expect(members.length === 2 && members.includes(env.device) && members.includes(other),
         `the members are ${members.join(', ')}`);
  await page.getByRole('button', {name: `Remove ${other} from the group`}).click();
  await waitFor(page.locator('#msg', {hasText: `${other} removed from Finance.`}), 'removing a member said nothing');
  // The page reloads its members.
  await waitFor(page.locator('#members-status', {hasText: 'Showing 1 member.'}), 'the group does not show one member left');
  members = await page.locator('#members tbody tr').evaluateAll((t) => t.map((r) => r.getAttribute('data-device-id')));
  expect(members.join() === env.device, `after the removal the members are ${members.join(', ')}`);
  const count = await page.locator('#group-dl dd').nth(1).innerText();
  expect(count.trim() === '1', `the group says it has ${count} members, not 1`);
  await accessible(page, 'the group page');
  await shot(page, '07-group.png');

  // --- profiles ---
  await page.getByRole('link', {name: 'Profiles', exact: true}).click();
  await waitFor(page.locator('#profiles-status', {hasText: 'No profile yet.'}), 'the profiles page did not say it has none');
  await page.locator('#new-profile summary').click();
  await page.getByLabel('Name', {exact: true}).fill('Baseline');
  await page.getByLabel('Setting path 1', {exact: true}).fill('DeviceLock/MinDevicePasswordLength');
  await page.getByLabel('Value 1', {exact: true}).fill('6');
  await page.getByRole('button', {name: 'Add a setting'}).click();
  await page.getByLabel('Setting path 2', {exact: true}).fill('Update/Branch');
  await page.getByLabel('Value 2', {exact: true}).fill('123');
  await page.getByLabel('Format 2', {exact: true}).selectOption('chr');
  // An Exec is refused, with the API's reason.
  const sml = page.getByLabel('Raw SyncML (optional)');
  await sml.fill('<Exec><CmdID>1</CmdID><Item><Target><LocURI>./Device/Vendor/MSFT/Reboot/RebootNow</LocURI></Target></Item></Exec>');
  await page.getByRole('button', {name: 'Create profile'}).click();
  await waitFor(page.locator('#err', {hasText: 'the profile was not created:'}), 'a profile with an Exec shows no error');
  const why = await page.locator('#err').innerText();
  expect(!/the server answered/.test(why), `the refusal shows no reason of the API: "${why}"`);
  const IMAGE = './Device/Vendor/MSFT/Personalization/LockScreenImageUrl';
  await sml.fill(`<Replace><CmdID>1</CmdID><Item><Target><LocURI>${IMAGE}</LocURI></Target>` +
                 '<Data>https://img.example.test/a.png</Data></Item></Replace>');
  await page.getByRole('button', {name: 'Create profile'}).click();
  await waitFor(page.locator('h1', {hasText: 'Profile Baseline'}), 'creating a profile did not open its page');
  const pm = /#\/profiles\/(\d+)$/.exec(page.url());
  expect(pm, `the new profile's page is at ${page.url()}`);
  const profile = pm[1];
  await waitFor(page.locator('#msg', {hasText: 'Profile "Baseline" created (version 1)'}), 'no message that the profile was created');
  await waitFor(page.locator('#definition-settings'), 'the profile page shows no settings');
  const def = await rowsOf(page, '#definition-settings');
  expect(JSON.stringify(def) === JSON.stringify([
    ['DeviceLock/MinDevicePasswordLength', '6', 'auto'], ['Update/Branch', '123', 'chr']]),
         `the profile's settings read ${JSON.stringify(def)}`);
  const raw = await page.locator('#definition-syncml').innerText();
  expect(raw.includes(IMAGE), 'the profile page does not show its raw SyncML');
  await waitFor(page.locator('#no-targets'), 'a new profile does not say it is not assigned');

  // Assigned to the group.
  await waitUntil(page, () => !document.getElementById('assign-target').disabled &&
                  document.getElementById('assign-target').options.length > 1, null,
                  'the assignment choices never loaded');
  await page.getByLabel('Assign to').selectOption({label: 'Finance'});
  await page.getByRole('button', {name: 'Assign', exact: true}).click();
  await waitFor(page.locator('#msg', {hasText: 'Assigned to Finance'}), 'assigning said nothing');
  await waitFor(page.locator(`#targets tr[data-target-id="${group}"]`), 'the assignment does not show');
  await waitUntil(page, () => document.getElementById('assign-target').options.length > 0, null,
                  'the assignment choices never loaded again');
  const choices = await page.getByLabel('Assign to').locator('option').allInnerTexts();
  expect(!choices.includes('Finance'), `Finance is still offered for assignment: ${choices.join(', ')}`);

  // Changed: version 2. Saving it again unchanged keeps version 2.
  await page.locator('#edit-profile summary').click();
  const value1 = page.locator('#edit-profile').getByLabel('Value 1', {exact: true});
  expect(await value1.inputValue() === '6', 'the edit form does not hold the current value');
  await value1.fill('8');
  await page.getByRole('button', {name: 'Save as a new version'}).click();
  await waitFor(page.locator('#msg', {hasText: 'Saved as version 2'}), 'saving a changed profile did not say version 2');
  await waitUntil(page, () => {
    const dd = document.querySelectorAll('#profile-dl dd');
    return dd.length > 1 && dd[1].textContent === '2';
  }, null, 'the profile page does not show version 2');
  await page.locator('#edit-profile summary').click();
  await page.getByRole('button', {name: 'Save as a new version'}).click();
  await waitFor(page.locator('#msg', {hasText: 'No change'}), 'saving an unchanged profile did not say "No change"');
  await waitFor(page.locator('#profile-compliance', {hasText: 'No device has it yet.'}),
                'before any check-in the profile does not say no device has it');
  // Its audit log: who did what.
  await waitFor(page.locator('#profile-audit-table tr[data-action="profile changed"]'), 'the audit log does not show the change');
  const audit = await rowsOf(page, '#profile-audit-table');
  const actions = audit.map((r) => `${r[1]}:${r[2]}`).join(', ');
  expect(actions === `${env.user}:profile changed, ${env.user}:profile assigned, ${env.user}:profile created`,
         `the profile's audit log reads ${actions}`);
  await accessible(page, 'the profile page');
  await shot(page, '08-profile.png');

  // A second profile, for every device.
  await page.getByRole('link', {name: /All profiles/}).click();
  await waitFor(page.locator(`#profiles tr[data-profile-id="${profile}"]`), 'the profiles list does not show Baseline');
  await page.locator('#new-profile summary').click();
  await page.getByLabel('Name', {exact: true}).fill('Cameras');
  await page.getByLabel('Setting path 1', {exact: true}).fill('Camera/AllowCamera');
  await page.getByLabel('Value 1', {exact: true}).fill('0');
  await page.getByLabel('Format 1', {exact: true}).selectOption('int');
  await page.getByRole('button', {name: 'Create profile'}).click();
  await waitFor(page.locator('h1', {hasText: 'Profile Cameras'}), 'creating a second profile did not open its page');
  const cameras = /#\/profiles\/(\d+)$/.exec(page.url())[1];
  await waitUntil(page, () => document.getElementById('assign-target').options.length > 1, null,
                  'the assignment choices never loaded (second profile)');
  await page.getByLabel('Assign to').selectOption('all');
  await page.getByRole('button', {name: 'Assign', exact: true}).click();
  await waitFor(page.locator('#targets tr[data-target-id="all"]'), 'the assignment to all devices does not show');
  return {group, profile, cameras};
}

async function step4(page) {
  const group = need('WINMDM_GROUP_ID');
  const profile = need('WINMDM_PROFILE_ID');
  const cameras = need('WINMDM_CAMERAS_ID');
  const other = need('WINMDM_OTHER_ID');
  const otherName = need('WINMDM_OTHER_NAME');

  // --- the device page: its profile verified, who queued what ---
  await load(page, `#/devices/${encodeURIComponent(env.device)}`);
  await devicePageReady(page);
  const prow = page.locator(`#device-profiles-table tr[data-profile-id="${profile}"]`);
  await waitFor(prow, 'the device page does not list the profile');
  const pc = await prow.locator('td').allInnerTexts();
  await waitFor(page.locator(`#device-profiles-table tr[data-profile-id="${cameras}"][data-profile-state="verified"]`),
                'the device page does not list Cameras verified');
  expect(pc[0].trim() === 'Baseline' && pc[1].trim() === '2' && pc[2].trim() === 'verified' &&
         pc[3].trim() === '\u2014' && /UTC$/.test(pc[5].trim()),
         `the device's profile reads "${pc.join(' | ')}", not Baseline, version 2, verified`);
  const by = await page.locator('#ops-table tr[data-op-type="LOCK"] td.op-by').innerText();
  expect(by.trim() === env.user, `the LOCK shows it was queued by "${by}"`);
  await waitFor(page.locator('#device-audit-table tr[data-action="group member added"]'),
                'the device\'s audit log does not show it joining the group');
  const da = await rowsOf(page, '#device-audit-table');
  expect(da.some((r) => r[1] === env.user && r[2] === 'operation queued'),
         `the device's audit log does not show the LOCK queued: ${JSON.stringify(da)}`);
  await accessible(page, 'the device page');
  await shot(page, '09-device-profiles.png');

  // --- the profiles page: the compliance bar ---
  await page.getByRole('link', {name: 'Profiles', exact: true}).click();
  const prof = page.locator(`#profiles tr[data-profile-id="${profile}"]`);
  await waitFor(prof, 'the profiles page does not list the profile');
  const cells = await prof.locator('td').allInnerTexts();
  expect(cells[0].trim() === 'Baseline' && cells[1].trim() === '2' && cells[2].trim() === 'Finance',
         `the profile row reads "${cells.join(' | ')}"`);
  expect(/verified 1/.test(cells[3]) && /failed 0/.test(cells[3]) && /pending 0/.test(cells[3]),
         `the compliance counts read "${cells[3]}"`);
  const segs = await prof.locator('.cbar span').evaluateAll(
    (s) => s.map((e) => `${e.className}:${e.getBoundingClientRect().width > 20}`));
  expect(segs.join() === 'seg-verified:true', `the compliance bar holds ${segs.join() || 'nothing'}`);
  // Cameras: one device verified, the other failed, half the bar each.
  const cam = page.locator(`#profiles tr[data-profile-id="${cameras}"]`);
  const camText = await cam.locator('.compliance').innerText();
  expect(/verified 1/.test(camText) && /failed 1/.test(camText) && /pending 0/.test(camText),
         `Cameras' compliance counts read "${camText}"`);
  const halves = await cam.locator('.cbar span').evaluateAll(
    (s) => s.map((e) => `${e.className}:${Math.round(e.getBoundingClientRect().width / e.parentNode.clientWidth * 10)}`));
  expect(halves.join() === 'seg-verified:5,seg-failed:5', `Cameras' compliance bar holds ${halves.join() || 'nothing'}`);
  await accessible(page, 'the profiles page');
  await shot(page, '10-profiles.png');
  await prof.locator('a').click();
  const dev = page.locator(`#profile-devices tr[data-device-id="${env.device}"][data-state="verified"]`);
  await waitFor(dev, 'the profile page does not list the device verified');
  await page.getByLabel('State', {exact: true}).selectOption('failed');
  await waitFor(page.locator('#profile-devices-status', {hasText: 'No device is failed.'}),
                'the failed devices of the profile are not an empty list');
  expect(/state=failed/.test(page.url()), `the state filter is not in the address: ${page.url()}`);
  // Cameras' failed device, with the reason.
  await goHash(page, `#/profiles/${cameras}?state=failed`);
  const failed = page.locator(`#profile-devices tr[data-device-id="${other}"][data-state="failed"]`);
  await waitFor(failed, 'the Cameras profile does not list the refusing device as failed');
  const fc = await failed.locator('td').allInnerTexts();
  expect(/Camera\/AllowCamera/.test(fc[3]) && /405/.test(fc[3]),
         `the failed device's error reads "${fc[3]}", not the node and status 405`);
  expect(await page.locator('#profile-devices tbody tr').count() === 1, 'the failed list holds more than the failed device');
  await shot(page, '16-profile-failed.png');

  // --- the device list: summary, search and filters ---
  await page.getByRole('link', {name: 'Devices', exact: true}).click();
  await waitFor(page.locator('#summary-states'), 'the device list has no summary');
  // The server's database holds the devices of the whole suite: what the
  // page shows is compared with what the API says (t/080-console.t).
  const want = JSON.parse(need('WINMDM_EXPECT'));
  const sum = await page.locator('#summary-states div[data-key="enrolled"] dd').innerText();
  expect(sum.trim() === String(want.enrolled),
         `the summary counts ${sum} enrolled devices, not ${want.enrolled}`);
  const hour = await page.locator('#summary-seen div[data-key="hour"] dd').innerText();
  expect(hour.trim() === String(want.hour),
         `the summary counts ${hour} devices seen within the hour, not ${want.hour}`);
  let ids = await listed(page, 'unfiltered');
  expect(ids.includes(env.device) && ids.includes(other), `the device list shows ${ids.join(', ')}`);
  // A count of the summary lists its devices.
  await page.locator('#summary-states div[data-key="enrolled"] a').click();
  await waitUntil(page, () => /state=enrolled/.test(location.hash), null,
                  'the Enrolled count does not lead to the enrolled devices');
  ids = await listed(page, 'enrolled, from the summary');
  expect(ids.join() === want.enrolled_page.join(),
         `the enrolled devices are ${ids.join(', ')}, not ${want.enrolled_page.join(', ')}`);
  expect(await page.getByLabel('State', {exact: true}).inputValue() === 'enrolled',
         'the State filter does not show the state the summary led to');
  await page.getByRole('button', {name: 'Clear', exact: true}).click();
  await waitUntil(page, () => location.hash === '#/devices', null, 'Clear did not go back to every device');

  await waitUntil(page, (g) => !!document.querySelector(`#filter-group option[value="${g}"]`), group,
                  'the group filter never offered the group');
  await page.getByLabel('Group', {exact: true}).selectOption({label: 'Finance'});
  await page.getByRole('button', {name: 'Search', exact: true}).click();
  await waitUntil(page, (g) => new RegExp(`group=${g}(&|$)`).test(location.hash), group,
                  'the group filter is not in the address');
  ids = await listed(page, 'by group');
  expect(ids.join() === env.device, `filtered by group the list shows ${ids.join(', ') || 'nothing'}`);
  await shot(page, '11-device-list-filtered.png');

  await page.getByRole('button', {name: 'Clear', exact: true}).click();
  await waitUntil(page, () => !/group=/.test(location.hash), null, 'Clear left the filters in the address');
  const prefix = otherName.slice(0, 7);
  await page.getByRole('searchbox', {name: 'Search'}).fill(prefix);
  await page.getByRole('searchbox', {name: 'Search'}).press('Enter');
  await waitUntil(page, () => /q=/.test(location.hash), null, 'the search is not in the address');
  ids = await listed(page, 'searched');
  expect(ids.join() === other, `searching "${prefix}" shows ${ids.join(', ') || 'nothing'}`);
  // The address keeps it: a reload shows the same search.
  await page.reload({waitUntil: 'load'});
  ids = await listed(page, 'searched, reloaded');
  expect(ids.join() === other, `after a reload the search shows ${ids.join(', ') || 'nothing'}`);
  expect(await page.getByRole('searchbox', {name: 'Search'}).inputValue() === prefix,
         'after a reload the search box is empty');

  // A profile and its state.
  await goHash(page, `#/devices?profile=${profile}&profile_state=verified`);
  ids = await listed(page, 'by profile state');
  expect(ids.join() === env.device, `devices with the profile verified: ${ids.join(', ') || 'nothing'}`);
  await goHash(page, `#/devices?profile=${profile}&profile_state=failed`);
  ids = await listed(page, 'by profile state failed');
  expect(ids.length === 0, `devices with the profile failed: ${ids.join(', ')}`);
  await goHash(page, '#/devices?profile_state=failed');
  ids = await listed(page, 'any profile failed');
  expect(ids.includes(other) && ids.join() === want.any_failed.join(),
         `devices with any profile failed: ${ids.join(', ') || 'nothing'}`);
  await goHash(page, '#/devices?state=unenrolled');
  ids = await listed(page, 'unenrolled');
  expect(ids.join() === want.unenrolled.join(), `unenrolled devices: ${ids.join(', ')}`);
  await accessible(page, 'the device list');

  // --- phone width ---
  await page.setViewportSize({width: 390, height: 844});
  await goHash(page, `#/devices?group=${group}`);
  ids = await listed(page, 'by group, phone width');
  await fitsWidth(page, 'the filtered device list at phone width');
  await shot(page, '12-device-list-filters-phone.png');
  await goHash(page, '#/profiles');
  await waitFor(page.locator(`#profiles tr[data-profile-id="${profile}"] .cbar`), 'the profiles page (phone) shows no bar');
  await fitsWidth(page, 'the profiles page at phone width');
  await shot(page, '13-profiles-phone.png');
  await goHash(page, `#/profiles/${profile}`);
  await waitFor(page.locator(`#profile-devices tr[data-device-id="${env.device}"]`), 'the profile page (phone) lists no device');
  await fitsWidth(page, 'the profile page at phone width');
  await shot(page, '14-profile-phone.png');
  await goHash(page, `#/groups/${group}`);
  await waitFor(page.locator(`#members tr[data-device-id="${env.device}"]`), 'the group page (phone) lists no member');
  await fitsWidth(page, 'the group page at phone width');
  await shot(page, '15-group-phone.png');

  // --- deleting: a profile, a group (each asks first) ---
  await page.setViewportSize({width: 1280, height: 900});
  await goHash(page, `#/profiles/${cameras}`);
  await waitFor(page.locator('h1', {hasText: 'Profile Cameras'}), 'the Cameras page does not open');
  let asked = '';
  page.once('dialog', (d) => { asked = d.message(); d.accept(); });
  await page.getByRole('button', {name: 'Delete profile'}).click();
  await waitFor(page.locator('#msg', {hasText: 'Profile "Cameras" deleted.'}), 'deleting a profile said nothing');
  expect(/^Delete the profile "Cameras"\?/.test(asked), `deleting a profile asked "${asked}"`);
  await waitFor(page.locator(`#profiles tr[data-profile-id="${profile}"]`), 'the profiles list did not come back after a delete');
  expect(await page.locator(`#profiles tr[data-profile-id="${cameras}"]`).count() === 0,
         'the deleted profile is still listed');
  await goHash(page, '#/groups');
  await page.getByLabel('Name of the new group').fill('Temporary');
  await page.getByRole('button', {name: 'Create group'}).click();
  await waitFor(page.locator('h1', {hasText: 'Group Temporary'}), 'a second group did not open');
  const temp = /#\/groups\/(\d+)$/.exec(page.url())[1];
  page.once('dialog', (d) => { asked = d.message(); d.accept(); });
  await page.getByRole('button', {name: 'Delete group'}).click();
  await waitFor(page.locator('#msg', {hasText: 'Group "Temporary" deleted.'}), 'deleting a group said nothing');
  expect(/^Delete the group "Temporary"\?/.test(asked), `deleting a group asked "${asked}"`);
  await waitFor(page.locator(`#groups tr[data-group-id="${group}"]`), 'the groups list did not come back after a delete');
  expect(await page.locator(`#groups tr[data-group-id="${temp}"]`).count() === 0, 'the deleted group is still listed');
  return {group, profile, cameras, temp};
}

async function main() {
  const step = process.argv[2];
  const steps = {step1, step2, step3, step4};
  if (!steps[step]) {
    console.error('usage: console-test.js step1|step2|step3|step4');
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
    const out = await steps[step](b.page);
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
