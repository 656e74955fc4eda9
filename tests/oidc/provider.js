// SPDX-License-Identifier: LGPL-2.1-or-later
//
// A real OpenID Connect provider (npm oidc-provider) for SessionAuth's OAuth
// tests, on loopback only, with test controls under /test/ so that shell
// tests can drive the device flow and the authorization code flow without a
// browser. See README.md beside this file.
//
//   node provider.js [--port N] [--port-file FILE] [--client-secret S]
//                    [--redirect-uri URI[,URI...]] [--interval N|none]
//                    [--device-client-id ID] [--code-client-id ID]
//
// --port 0 (the default) takes a free port; the port is written to
// --port-file (atomically) once the provider answers. The client secret may
// also come from OIDC_CLIENT_SECRET.

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import querystring from 'node:querystring';

import Provider from 'oidc-provider';

// ---------------------------------------------------------------- arguments

function parseArgs(argv) {
  const opts = {
    port: '0',
    'port-file': '',
    'client-secret': process.env.OIDC_CLIENT_SECRET || 'sauth-test-secret',
    'redirect-uri': 'http://127.0.0.1/callback',
    interval: '1',
    'device-client-id': 'sauth-device',
    'code-client-id': 'sauth-web',
  };
  for (let i = 0; i < argv.length; i += 1) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m || !(m[1] in opts)) {
      process.stderr.write(`provider.js: unknown argument ${argv[i]}\n`);
      process.exit(2);
    }
    if (m[2] !== undefined) {
      opts[m[1]] = m[2];
    } else {
      i += 1;
      if (i >= argv.length) {
        process.stderr.write(`provider.js: --${m[1]} needs a value\n`);
        process.exit(2);
      }
      opts[m[1]] = argv[i];
    }
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));

function parseInterval(v) {
  if (v === 'none' || v === '') return null;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`bad interval: ${v}`);
  return n;
}

// ---------------------------------------------------------------- accounts

// The default accounts match the test users of tests/integration/lib.sh
// (USER@example.org). `unverified` claims alice's address without having
// verified it; `stranger` is an identity no test account has.
function defaultAccounts() {
  const a = {};
  for (const u of ['alice', 'bob', 'carol', 'dave']) {
    a[u] = {
      sub: u, email: `${u}@example.org`, email_verified: true, preferred_username: u, name: u,
    };
  }
  a.unverified = {
    sub: 'unverified', email: 'alice@example.org', email_verified: false, preferred_username: 'unverified', name: 'Unverified',
  };
  a.stranger = {
    sub: 'stranger', email: 'stranger@example.net', email_verified: true, preferred_username: 'stranger', name: 'Stranger',
  };
  return a;
}

// ---------------------------------------------------------------- test state

const DEFAULT_INTERVAL = parseInterval(opts.interval);

function freshState() {
  return {
    accounts: defaultAccounts(),
    interval: DEFAULT_INTERVAL, // null: the device authorization response has none
    deviceTtl: 600, // seconds; expires_in of new device codes
    slowDown: 0, // the next N device-code polls answer slow_down
    expired: new Set(), // device codes whose polls answer expired_token
    codes: [], // { deviceCode, userCode, interval, slowDowns }
    polls: [], // { t, mono, userCode, status, error, gapMs, interval }
    breaks: new Map(), // endpoint name -> { mode, count }
    requests: {}, // endpoint name -> requests received (broken ones too)
    cacheControl: {}, // endpoint name -> Cache-Control header of its answers
  };
}

let state = freshState();
const hung = new Set(); // responses held by a "hang" break

function releaseHung() {
  for (const res of hung) res.destroy();
  hung.clear();
}

// ---------------------------------------------------------------- provider

const ROUTES = {
  authorization: '/auth',
  token: '/token',
  userinfo: '/me',
  jwks: '/jwks',
  device_authorization: '/device/auth',
  code_verification: '/device',
  end_session: '/session/end',
  revocation: '/token/revocation',
  introspection: '/token/introspection',
  pushed_authorization_request: '/request',
};

// Names accepted by /test/break, by path.
const ENDPOINTS = {
  discovery: '/.well-known/openid-configuration',
  jwks: ROUTES.jwks,
  token: ROUTES.token,
  device_authorization: ROUTES.device_authorization,
  device: ROUTES.device_authorization,
  userinfo: ROUTES.userinfo,
  authorization: ROUTES.authorization,
};

function signingKey() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: crypto.randomBytes(8).toString('hex'), use: 'sig', alg: 'RS256' };
}

function makeProvider(issuer) {
  const redirectUris = opts['redirect-uri'].split(',').filter(Boolean);
  const configuration = {
    clients: [
      {
        client_id: opts['device-client-id'],
        token_endpoint_auth_method: 'none',
        grant_types: ['urn:ietf:params:oauth:grant-type:device_code'],
        response_types: [],
        redirect_uris: [],
        application_type: 'native',
      },
      {
        client_id: opts['code-client-id'],
        client_secret: opts['client-secret'],
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: redirectUris,
      },
    ],
    async findAccount(ctx, id) {
      const acc = state.accounts[id];
      if (!acc) return undefined;
      return {
        accountId: id,
        async claims() { return { ...acc, sub: id }; },
      };
    },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['preferred_username', 'name'],
    },
    // The ID token carries the scope's claims too, not only the userinfo.
    conformIdTokenClaims: false,
    features: {
      devInteractions: { enabled: false },
      deviceFlow: { enabled: true },
      userinfo: { enabled: true },
      revocation: { enabled: true },
    },
    pkce: { methods: ['S256'], required: () => true },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    jwks: { keys: [signingKey()] },
    routes: ROUTES,
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 60,
      IdToken: 3600,
      DeviceCode: () => state.deviceTtl,
      Grant: 3600,
      Interaction: 600,
      Session: 3600,
    },
    renderError(ctx, out) {
      ctx.type = 'json';
      ctx.body = out;
    },
  };
  const provider = new Provider(issuer, configuration);

  // The device authorization response: the interval the test asked for (the
  // library sends none), and the codes remembered for /test/.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path === ROUTES.device_authorization && ctx.method === 'POST'
        && ctx.status === 200 && ctx.body && typeof ctx.body === 'object') {
      if (state.interval !== null) ctx.body.interval = state.interval;
      state.codes.push({
        deviceCode: ctx.body.device_code,
        userCode: ctx.body.user_code,
        interval: state.interval === null ? 5 : state.interval,
        slowDowns: 0,
      });
    }
  });
  return provider;
}

// ---------------------------------------------------------------- helpers

function sendJson(res, status, obj) {
  const body = JSON.stringify(obj);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > 65536) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function normalizeUserCode(s) {
  return String(s || '').toUpperCase().replace(/\W/g, '');
}

function findCode(userCode) {
  if (!userCode) return state.codes[state.codes.length - 1];
  const n = normalizeUserCode(userCode);
  return state.codes.find((c) => normalizeUserCode(c.userCode) === n);
}

function isLoopback(addr) {
  return /^(127\.|::1$|::ffff:127\.)/.test(addr || '');
}

// The /test/break name of a path ('device' is an alias, not reported).
function endpointName(path) {
  return Object.keys(ENDPOINTS).find((n) => n !== 'device' && ENDPOINTS[n] === path);
}

// A JSON object of BIG_SIZE bytes that would pass as a discovery document,
// a device authorization answer and a token answer (the codes are not
// real ones), but for its size; sent in chunks without a content-length,
// so that only the client's own cap stops it, or with `withLength` the
// length announced.
const BIG_SIZE = 1024 * 1024;

function sendBig(req, res, withLength) {
  const issuer = `http://${req.headers.host}`;
  const fields = {
    issuer,
    authorization_endpoint: issuer + ROUTES.authorization,
    token_endpoint: issuer + ROUTES.token,
    device_authorization_endpoint: issuer + ROUTES.device_authorization,
    userinfo_endpoint: issuer + ROUTES.userinfo,
    jwks_uri: issuer + ROUTES.jwks,
    device_code: crypto.randomBytes(16).toString('hex'),
    user_code: 'BIGB-BIGB',
    verification_uri: issuer + ROUTES.code_verification,
    expires_in: 600,
    interval: 1,
    access_token: 'x',
    token_type: 'Bearer',
  };
  const head = `${JSON.stringify(fields).slice(0, -1)}, "padding": "`;
  const tail = '"}';
  const chunk = 'a'.repeat(16384);
  const n = Math.ceil((BIG_SIZE - head.length - tail.length) / chunk.length);
  const headers = { 'content-type': 'application/json' };
  if (withLength) headers['content-length'] = head.length + n * chunk.length + tail.length;
  res.writeHead(200, headers);
  res.on('error', () => {}); // the client hangs up at its cap
  let i = 0;
  const more = () => {
    if (res.destroyed) return;
    if (i === 0) res.write(head);
    while (i < n) {
      i += 1;
      if (!res.write(chunk)) {
        res.once('drain', more);
        return;
      }
    }
    res.end(tail);
  };
  more();
}

// ---------------------------------------------------------------- breaks

// Applies a pending break for this path; returns true when it answered.
function applyBreak(req, res, path) {
  for (const [name, b] of state.breaks) {
    if (ENDPOINTS[name] !== path) continue;
    b.count -= 1;
    if (b.count <= 0) state.breaks.delete(name);
    switch (b.mode) {
      case '500':
        sendJson(res, 500, { error: 'server_error', error_description: 'broken by the test' });
        return true;
      case 'garbage': {
        const body = '{"access_token": "x", "token_type": ';
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
        return true;
      }
      case 'html': {
        const body = '<html><body>502 Bad Gateway</body></html>';
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
        return true;
      }
      case 'close':
        req.socket.destroy();
        return true;
      case 'big':
        sendBig(req, res, false);
        return true;
      case 'big_length':
        sendBig(req, res, true);
        return true;
      case 'hang':
      default:
        // Never answered; /test/reset, a stop, or 5 minutes end it.
        hung.add(res);
        res.on('close', () => hung.delete(res));
        setTimeout(() => { if (hung.delete(res)) res.destroy(); }, 300000).unref();
        return true;
    }
  }
  return false;
}

// ---------------------------------------------------------------- /test/

async function approve(provider, q) {
  const c = findCode(q.user_code);
  if (!c) return [404, { error: 'unknown user_code' }];
  const accountId = q.account || 'alice';
  if (!state.accounts[accountId]) return [404, { error: 'unknown account' }];
  const code = await provider.DeviceCode.find(c.deviceCode, { ignoreExpiration: true });
  if (!code) return [404, { error: 'device code gone' }];
  if (code.isExpired || state.expired.has(c.deviceCode)) return [410, { error: 'device code expired' }];
  if (code.accountId || code.error) return [409, { error: 'device code already decided' }];
  const scope = code.params.scope || 'openid';
  const grant = new provider.Grant({ accountId, clientId: code.clientId });
  grant.addOIDCScope(scope);
  const grantId = await grant.save();
  Object.assign(code, {
    accountId,
    grantId,
    scope,
    authTime: Math.floor(Date.now() / 1000),
    acr: 'urn:sessionauth:test',
    amr: ['pwd'],
  });
  await code.save();
  return [200, { ok: true, user_code: c.userCode, account: accountId }];
}

async function deny(provider, q) {
  const c = findCode(q.user_code);
  if (!c) return [404, { error: 'unknown user_code' }];
  const code = await provider.DeviceCode.find(c.deviceCode, { ignoreExpiration: true });
  if (!code) return [404, { error: 'device code gone' }];
  if (code.isExpired || state.expired.has(c.deviceCode)) return [410, { error: 'device code expired' }];
  if (code.accountId || code.error) return [409, { error: 'device code already decided' }];
  code.error = q.error || 'access_denied';
  code.errorDescription = 'denied by the test';
  await code.save();
  return [200, { ok: true, user_code: c.userCode }];
}

function pollReport() {
  const polls = state.polls.map((p) => ({
    t: p.t,
    user_code: p.userCode,
    status: p.status,
    error: p.error,
    gap_ms: p.gapMs,
    interval: p.interval,
  }));
  return {
    count: polls.length,
    polls,
    gaps: polls.filter((p) => p.gap_ms !== null).map((p) => p.gap_ms),
  };
}

async function handleTest(provider, req, res, url) {
  if (!isLoopback(req.socket.remoteAddress)) {
    sendJson(res, 403, { error: 'loopback only' });
    return;
  }
  const q = Object.fromEntries(url.searchParams);
  if (req.method === 'POST') {
    const body = await readBody(req);
    Object.assign(q, querystring.parse(body.toString()));
  }
  const what = url.pathname.slice('/test/'.length);
  let out;
  switch (what) {
    case 'approve':
      out = await approve(provider, q);
      break;
    case 'deny':
      out = await deny(provider, q);
      break;
    case 'slow_down':
      state.slowDown += Number(q.count || 1);
      out = [200, { ok: true, slow_down: state.slowDown }];
      break;
    case 'expire': {
      const c = findCode(q.user_code);
      if (!c) {
        out = [404, { error: 'unknown user_code' }];
      } else {
        state.expired.add(c.deviceCode);
        out = [200, { ok: true, user_code: c.userCode }];
      }
      break;
    }
    case 'device_ttl': {
      const n = Number(q.seconds);
      if (!Number.isInteger(n) || n < 1) {
        out = [400, { error: 'seconds must be a positive integer' }];
      } else {
        state.deviceTtl = n;
        out = [200, { ok: true, device_ttl: n }];
      }
      break;
    }
    case 'interval':
      try {
        state.interval = parseInterval(q.value ?? 'none');
        out = [200, { ok: true, interval: state.interval }];
      } catch (e) {
        out = [400, { error: e.message }];
      }
      break;
    case 'polls':
      out = [200, pollReport()];
      break;
    case 'last_user_code': {
      const c = state.codes[state.codes.length - 1];
      out = c ? [200, { user_code: c.userCode }] : [404, { error: 'no device code issued' }];
      break;
    }
    case 'break': {
      const name = q.endpoint;
      const mode = q.mode || '500';
      if (!(name in ENDPOINTS)) {
        out = [400, { error: `endpoint is one of ${Object.keys(ENDPOINTS).join(' ')}` }];
      } else if (!['500', 'hang', 'garbage', 'html', 'close', 'big', 'big_length'].includes(mode)) {
        out = [400, { error: 'mode is one of 500 hang garbage html close big big_length' }];
      } else {
        state.breaks.set(name, { mode, count: Number(q.count || 1) });
        out = [200, { ok: true, endpoint: name, mode }];
      }
      break;
    }
    case 'requests':
      out = [200, { ...state.requests }];
      break;
    case 'cache_control': {
      // Cache-Control of discovery or jwks answers from now on; empty: the
      // library's own (none).
      const name = q.endpoint;
      if (!['discovery', 'jwks'].includes(name)) {
        out = [400, { error: 'endpoint is discovery or jwks' }];
      } else if (q.value && !/^[A-Za-z0-9=, -]{1,100}$/.test(q.value)) {
        out = [400, { error: 'bad value' }];
      } else {
        if (q.value) state.cacheControl[name] = q.value;
        else delete state.cacheControl[name];
        out = [200, { ok: true, endpoint: name, value: q.value || null }];
      }
      break;
    }
    case 'reset':
      releaseHung();
      state = freshState();
      out = [200, { ok: true }];
      break;
    case 'account': {
      if (!q.id || !/^[A-Za-z0-9._@-]{1,64}$/.test(q.id)) {
        out = [400, { error: 'id required ([A-Za-z0-9._@-])' }];
        break;
      }
      state.accounts[q.id] = {
        sub: q.id,
        email: q.email || `${q.id}@example.org`,
        email_verified: !['false', '0', 'no'].includes(String(q.email_verified ?? 'true')),
        preferred_username: q.preferred_username || q.id,
        name: q.name || q.id,
      };
      out = [200, { ok: true, account: state.accounts[q.id] }];
      break;
    }
    case 'state':
      out = [200, {
        interval: state.interval,
        device_ttl: state.deviceTtl,
        slow_down: state.slowDown,
        codes: state.codes.map((c) => ({ user_code: c.userCode, interval: c.interval, slow_downs: c.slowDowns })),
        breaks: Object.fromEntries(state.breaks),
        accounts: state.accounts,
      }];
      break;
    default:
      out = [404, { error: 'no such test control' }];
  }
  sendJson(res, out[0], out[1]);
}

// ---------------------------------------------------------------- token polls

// Device-code polls are counted and may be answered here (slow_down,
// expired_token) before the library sees them. The body has been read, so
// it is handed on as req.body (oidc-provider reads a pre-read body).
async function handleTokenPoll(req, res) {
  const raw = await readBody(req);
  req.body = raw;
  const params = querystring.parse(raw.toString());
  if (params.grant_type !== 'urn:ietf:params:oauth:grant-type:device_code') return false;
  const c = state.codes.find((x) => x.deviceCode === params.device_code);
  const mono = Number(process.hrtime.bigint() / 1000n) / 1000;
  const prev = [...state.polls].reverse().find((p) => p.deviceCode === params.device_code);
  const poll = {
    t: Date.now(),
    mono,
    deviceCode: params.device_code,
    userCode: c ? c.userCode : null,
    gapMs: prev ? Math.round(mono - prev.mono) : null,
    interval: c ? c.interval : null,
    status: null,
    error: null,
  };
  state.polls.push(poll);
  if (state.polls.length > 10000) state.polls.shift();
  res.on('finish', () => { poll.status = res.statusCode; });
  if (state.slowDown > 0) {
    state.slowDown -= 1;
    if (c) { c.slowDowns += 1; c.interval += 5; }
    poll.error = 'slow_down';
    sendJson(res, 400, { error: 'slow_down', error_description: 'polling too fast (test)' });
    return true;
  }
  if (state.expired.has(params.device_code)) {
    poll.error = 'expired_token';
    sendJson(res, 400, { error: 'expired_token', error_description: 'device code is expired (test)' });
    return true;
  }
  // The library's answer: note its error code for the report.
  const { end } = res;
  res.end = function endHook(chunk, ...rest) {
    if (chunk && res.statusCode >= 400) {
      try { poll.error = JSON.parse(chunk.toString()).error || null; } catch (e) { /* not JSON */ }
    }
    return end.call(this, chunk, ...rest);
  };
  return false;
}

// ---------------------------------------------------------------- interactions

// The login and consent pages (devInteractions are off): a form for people,
// and POST /interaction/UID/login with login=ACCOUNT (or deny=1) for
// code-flow-login.sh. Login and consent are given in one step.
async function handleInteraction(provider, req, res, url) {
  const m = /^\/interaction\/([A-Za-z0-9_-]+)(\/login)?$/.exec(url.pathname);
  if (!m) {
    sendJson(res, 404, { error: 'not found' });
    return;
  }
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (e) {
    sendJson(res, 400, { error: 'invalid_request', error_description: e.message });
    return;
  }
  if (details.uid !== m[1]) {
    sendJson(res, 400, { error: 'invalid_request', error_description: 'interaction mismatch' });
    return;
  }
  if (!m[2]) {
    const body = `<!DOCTYPE html><html><head><title>Sign in</title></head><body>
<form method="post" action="/interaction/${details.uid}/login">
<p>Sign in to ${String(details.params.client_id).replace(/[^A-Za-z0-9._-]/g, '')} as:</p>
<input name="login" autofocus> <button type="submit">Sign in</button>
<button type="submit" name="deny" value="1">Deny</button></form></body></html>`;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  if (req.method !== 'POST') {
    sendJson(res, 405, { error: 'POST only' });
    return;
  }
  const form = querystring.parse((await readBody(req)).toString());
  let result;
  if (form.deny) {
    result = { error: 'access_denied', error_description: 'denied by the test' };
  } else {
    const accountId = String(form.login || '');
    if (!state.accounts[accountId]) {
      sendJson(res, 403, { error: 'unknown account' });
      return;
    }
    const grant = new provider.Grant({ accountId, clientId: details.params.client_id });
    grant.addOIDCScope(details.params.scope || 'openid');
    const grantId = await grant.save();
    result = {
      login: { accountId, amr: ['pwd'] },
      consent: { grantId },
    };
  }
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
}

// ---------------------------------------------------------------- server

async function main() {
  let provider = null;
  let callback = null;
  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url, 'http://127.0.0.1');
      if (url.pathname.startsWith('/test/')) {
        await handleTest(provider, req, res, url);
        return;
      }
      const name = endpointName(url.pathname);
      if (name) {
        state.requests[name] = (state.requests[name] || 0) + 1;
        const cc = state.cacheControl[name];
        if (cc) {
          // Set last, over whatever the library set.
          const { writeHead } = res;
          res.writeHead = function writeHeadHook(...args) {
            res.setHeader('cache-control', cc);
            return writeHead.apply(this, args);
          };
        }
      }
      if (applyBreak(req, res, url.pathname)) return;
      if (url.pathname.startsWith('/interaction/')) {
        await handleInteraction(provider, req, res, url);
        return;
      }
      if (url.pathname === ROUTES.token && req.method === 'POST') {
        if (await handleTokenPoll(req, res)) return;
      }
      callback(req, res);
    } catch (e) {
      process.stderr.write(`provider.js: ${e.stack || e}\n`);
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error', error_description: 'test provider fault' });
      else res.destroy();
    }
  });
  server.keepAliveTimeout = 2000;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(opts.port), '127.0.0.1', resolve);
  });
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  provider = makeProvider(issuer);
  provider.on('server_error', (ctx, err) => process.stderr.write(`provider.js: server_error ${err.stack || err}\n`));
  callback = provider.callback();

  if (opts['port-file']) {
    const tmp = `${opts['port-file']}.tmp`;
    fs.writeFileSync(tmp, `${port}\n`);
    fs.renameSync(tmp, opts['port-file']);
  }
  process.stderr.write(`provider.js: ${issuer} ready\n`);

  // A test server keeps nothing worth flushing: stop at once.
  const stop = () => {
    releaseHung();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e) => {
  process.stderr.write(`provider.js: ${e.stack || e}\n`);
  process.exit(1);
});
