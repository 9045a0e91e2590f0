// roomgate, the Janus bridge and a real Janus, with three real headless Chromium pages: A publishes its fake camera,
// B (who may only watch) receives it, a mute through the Telnyx Python SDK stops it and an unmute resumes it, B is
// hung up when it publishes anyway, a third participant is refused over max_participants, a kick through the SDK
// takes A out of Janus (and its refresh is refused), C (who may not watch) takes A's place and is hung up when it
// subscribes, and roomgate's records say who joined and who left.
//
// Started by compat/janus/run.sh, which sets every variable read here.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';

const env = (name) => {
  const value = process.env[name];
  assert.ok(value, `set ${name}`);
  return value;
};
const bridge = env('ROOMGATE_JANUS_BRIDGE_URL');
const adminUrl = env('ROOMGATE_JANUS_ADMIN_URL');
const adminSecret = env('ROOMGATE_JANUS_ADMIN_SECRET');
const python = env('ROOMGATE_TELNYX_PYTHON');
const here = env('ROOMGATE_JANUS_TEST_DIR');
const pageUrl = env('ROOMGATE_JANUS_PAGE_URL');
const { chromium } = createRequire(join(resolve(env('ROOMGATE_BROWSER_NODE_DIR')), 'package.json'))('playwright-core');

const run = promisify(execFile);
const sdk = (...args) => JSON.parse(execFileSync(python, [join(here, 'sdk.py'), ...args], { encoding: 'utf8' }));

async function admin(janus, extra = {}) {
  const answer = await fetch(adminUrl, {
    method: 'POST',
    body: JSON.stringify({ janus, transaction: `t${Math.random()}`, admin_secret: adminSecret, ...extra }),
  });
  return answer.json();
}
const janusSessions = async () => (await admin('list_sessions')).sessions;
const janusTokens = async () => (await admin('list_tokens')).data.tokens.map((t) => t.token);

async function eventually(what, check, within = 10_000) {
  const deadline = Date.now() + within;
  let last;
  for (;;) {
    last = await check();
    if (last) return last;
    if (Date.now() > deadline) assert.fail(`${what}: not within ${within} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let browser;
let profile;
let setup;

before(async () => {
  setup = sdk('setup');
  profile = mkdtempSync(join(tmpdir(), 'roomgate-janus-chromium-'));
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      // Real host addresses in ICE candidates (no mDNS names), loopback included.
      '--allow-loopback-in-peer-connection',
      '--disable-features=WebRtcHideLocalIpsWithMdns',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

after(async () => {
  await browser?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

async function openPage(name) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('console', (m) => { if (m.type() === 'error') console.log(`[${name}] ${m.text()}`); });
  await page.goto(pageUrl);
  return page;
}

const join_ = (page, token, publish) =>
  page.evaluate(([b, t, p]) => window.rg.join(b, t, p), [bridge, token, publish]);

test('browsers through Janus: media, mute, permissions, admission, a kick through the SDK, roomgate records', async () => {
  const { room_id: room, tokens } = setup;

  // Refusals carry roomgate's error format and no Janus token.
  const bad = await fetch(`${bridge}/join`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"access_token":"not.a.token"}',
  });
  assert.equal(bad.status, 401);
  const badBody = await bad.json();
  assert.equal(badBody.errors[0].code, '10009');
  assert.ok(!('token' in badBody));

  // A joins and publishes its fake camera.
  const a = await openPage('A');
  const joinedA = await join_(a, tokens.alice.token, true);
  assert.equal(joinedA.status, 200, JSON.stringify(joinedA));
  assert.equal(joinedA.body.room, room);
  const alice = joinedA.body.participant_id;
  await eventually('A publishes (PeerConnection up)', () => a.evaluate(() => window.rg.published));

  // B joins, subscribes, and receives A's video: a size, and frames that keep coming.
  const b = await openPage('B');
  const joinedB = await join_(b, tokens.bob.token, false);
  assert.equal(joinedB.status, 200, JSON.stringify(joinedB));
  const bob = joinedB.body.participant_id;
  const first = await eventually('B shows A\'s video', async () => {
    const v = await b.evaluate((f) => window.rg.video(f), alice);
    return v && v.width > 0 && v.height > 0 && v.frames > 0 ? v : null;
  }, 20_000);
  await eventually('B\'s frames advance', async () => {
    const v = await b.evaluate((f) => window.rg.video(f), alice);
    return v.frames >= first.frames + 10;
  });

  const sessionId = await sessionOf(alice);
  const frames = () => b.evaluate((f) => window.rg.video(f).frames, alice);

  // A mute through the SDK stops A's video in Janus (VideoRoom moderation): B's frames stop; an unmute resumes them.
  assert.deepEqual(sdk('mute', sessionId, alice), { result: 'ok' });
  await eventually('B\'s frames stop while A is muted', async () => {
    const before = await frames();
    await new Promise((r) => setTimeout(r, 1_000));
    return (await frames()) - before <= 2;
  });
  assert.deepEqual(sdk('unmute', sessionId, alice), { result: 'ok' });
  const resumed = await frames();
  await eventually('B\'s frames resume after the unmute', async () => (await frames()) >= resumed + 10);

  // B may only watch: when it publishes anyway, the bridge hangs its PeerConnection up as Janus reports it, and
  // B still receives A.
  await b.evaluate(() => window.rg.publish());
  await eventually('B\'s publishing is hung up', async () => {
    const seen = await b.evaluate(() => window.rg.events);
    return seen.some((e) => e.what === 'webrtc' && e.up === false) || seen.some((e) => e.what === 'cleanup');
  });
  const still = await frames();
  await eventually('B still receives A', async () => (await frames()) >= still + 10);

  // A third participant is over max_participants (2): refused, no Janus token.
  const tokensBefore = (await janusTokens()).length;
  const full = await fetch(`${bridge}/join`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ access_token: tokens.carol.token }),
  });
  assert.equal(full.status, 403);
  const fullBody = await full.json();
  assert.equal(fullBody.errors[0].title, 'Room full');
  assert.equal(fullBody.errors[0].meta.max_participants, 2);
  assert.equal((await janusTokens()).length, tokensBefore, 'no Janus token for a refused join');

  // The kick, through the official SDK: A is out of Janus within two seconds, and its refresh is refused.
  const aSession = await a.evaluate(() => window.rg.sessionId);
  assert.ok((await janusSessions()).includes(aSession));
  // Janus is watched while the SDK runs, to time how long after roomgate's answer A is out.
  let goneAt = null;
  let watching = true;
  const watch = (async () => {
    while (watching && goneAt === null) {
      if (!(await janusSessions()).includes(aSession)) goneAt = Date.now();
      else await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const { stdout } = await run(python, [join(here, 'sdk.py'), 'kick', sessionId, alice, room, tokens.alice.refresh_token]);
  const kicked = JSON.parse(stdout);
  assert.deepEqual({ ...kicked, answered_ms: 0 }, { kicked: true, refresh_status: 403, answered_ms: 0 });
  await eventually('A\'s Janus session is destroyed', () => goneAt !== null, 2_000);
  watching = false;
  await watch;
  const latency = goneAt - kicked.answered_ms;
  console.log(`A's Janus session was destroyed ${latency} ms after roomgate answered the SDK's kick`);
  assert.ok(latency <= 2_000, `A out of Janus within two seconds of the kick (${latency} ms)`);
  await eventually('A\'s page is told it was kicked', async () => {
    const seen = await a.evaluate(() => window.rg.events);
    return seen.some((e) => (e.what === 'leaving' && e.reason === 'kicked') || e.what === 'janus_error');
  }, 5_000);
  assert.ok(!(await janusTokens()).some((t) => t.includes(alice)), 'A\'s Janus token is removed');
  await eventually('B is told A left the room', async () => {
    const seen = await b.evaluate(() => window.rg.events);
    return seen.some((e) => ['kicked', 'leaving', 'unpublished'].includes(e.what) && e.id === alice);
  }, 5_000);
  // A's access token is still unexpired, but roomgate revoked it with the kick.
  const again = await fetch(`${bridge}/join`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ access_token: tokens.alice.token }),
  });
  assert.equal(again.status, 403, 'a kicked participant cannot join again');

  // roomgate's records: A joined and left, B is still in.
  let records = sdk('records', sessionId);
  const byId = Object.fromEntries(records.participants.map((p) => [p.id, p]));
  assert.ok(byId[alice].joined_at && byId[alice].left_at, JSON.stringify(records));
  assert.ok(byId[bob].joined_at && !byId[bob].left_at, JSON.stringify(records));
  assert.equal(records.participants.length, 2, 'the refused participant was never recorded');

  // A's place is free: C, refused before, is admitted now. Its token allows publishing, not watching: B receives
  // C's video, and when C subscribes anyway (to its own feed, the only one there is) the bridge hangs that up.
  const c = await openPage('C');
  const joinedC = await join_(c, tokens.carol.token, true);
  assert.equal(joinedC.status, 200, JSON.stringify(joinedC));
  const carol = joinedC.body.participant_id;
  await eventually('B shows C\'s video', async () => {
    const v = await b.evaluate((f) => window.rg.video(f), carol);
    return v && v.width > 0 && v.frames > 0;
  }, 20_000);
  await c.evaluate((f) => window.rg.subscribeTo(f), carol);
  await eventually('C\'s subscription is hung up', async () => {
    const seen = await c.evaluate(() => window.rg.events);
    return seen.some((e) => e.what === 'subscriber_cleanup' && e.feed === carol);
  });
  // (A frame may have come through between Janus saying it subscribed and the hang-up; none comes after.)
  const seenThen = await c.evaluate((f) => window.rg.video(f), carol);
  await new Promise((r) => setTimeout(r, 1_000));
  const seenNow = await c.evaluate((f) => window.rg.video(f), carol);
  assert.equal(seenNow?.frames ?? 0, seenThen?.frames ?? 0, 'C\'s video stands still');

  // B and C hang up: the bridge learns it from Janus and roomgate records the leaves; the session ends.
  await b.evaluate(() => window.rg.leave());
  await c.evaluate(() => window.rg.leave());
  records = await eventually('roomgate records B\'s leave', () => {
    const r = sdk('records', sessionId);
    return r.participants.every((p) => p.left_at) ? r : null;
  }, 10_000);
  assert.equal(records.active, false);
  assert.ok(records.ended_at);
});

// The roomgate session a participant was admitted into, read from roomgate.
async function sessionOf(participant) {
  const base = env('ROOMGATE_BASE_URL');
  const answer = await fetch(`${base}/room_participants/${participant}`, {
    headers: { authorization: `Bearer ${env('ROOMGATE_API_KEY')}` },
  });
  assert.equal(answer.status, 200);
  return (await answer.json()).data.session_id;
}
