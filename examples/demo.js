// The demo page: one AccessManager (from the UMD bundle) feeding three simulated SDK clients.
// Everything the page shows is read from the manager's events, getters and snapshot; nothing here refreshes tokens
// itself. The state badge follows `manager.subscribe`, and the event log also shows the manager's debug log (the
// `logger` option): every decision it makes, with tokens only as fingerprints.

const IDENTITY_PATTERN = /^[A-Za-z0-9_]{1,121}$/;
const MAX_LOG = 300;

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const params = new URLSearchParams(location.search);
const identity = params.get('identity') ?? 'alice';
// `?ttl=30&warn=20` makes the cycle quick to watch: token lifetime and warning time, in seconds.
const ttl = params.get('ttl') ?? '200';
const warnSeconds = Number(params.get('warn') ?? 180); // 180 s is the library's default aboutToExpireMs
const ABOUT_TO_EXPIRE_MS = Number.isFinite(warnSeconds) && warnSeconds >= 0 ? warnSeconds * 1000 : 180_000;
// `?spread=0` starts the automatic refresh right at tokenAboutToExpire; by default it starts at a random moment
// within half the warning time (the library's `refreshSpreadMs`), so tabs of many users do not refresh together.
const spreadSeconds = params.has('spread') ? Number(params.get('spread')) : NaN;
const REFRESH_SPREAD_MS =
  Number.isFinite(spreadSeconds) && spreadSeconds >= 0 ? Math.min(spreadSeconds * 1000, ABOUT_TO_EXPIRE_MS / 2) : undefined;
const tabId = Math.random().toString(16).slice(2, 6);

/**
 * Short, stable, non-reversible label for a token, computed the way the library's debug log does (six base-36
 * characters of an FNV-1a hash of the signature), so the token card and the log name a token alike. Never show the
 * token itself.
 */
function fingerprint(token) {
  if (typeof token !== 'string') return '–';
  const signature = token.slice(token.lastIndexOf('.') + 1);
  let hash = 0x811c9dc5;
  for (let i = 0; i < signature.length; i++) hash = Math.imul(hash ^ signature.charCodeAt(i), 0x01000193);
  return '#' + (hash >>> 0).toString(36).padStart(7, '0').slice(-6);
}

const pad = (n, width = 2) => String(n).padStart(width, '0');
const clockTime = (ms) => {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
};
const clockTimeMs = (ms) => `${clockTime(ms)}.${pad(new Date(ms).getMilliseconds(), 3)}`;
const duration = (ms) => {
  const total = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(total / 60)}:${pad(total % 60)}`;
};
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
const shortDuration = (ms) => (Math.abs(ms) < 1000 ? `${Math.round(ms)} ms` : seconds(ms));

// ---------------------------------------------------------------------------------------------------------------
// Event log. `log` (oldest first) is what tests read; the list on screen shows the newest first. Entries of type
// `log` come from the manager's `logger` option (`level`, `event` and the entry's other fields as `details`); the
// others from the page's own event listeners and buttons.

/**
 * @type {Array<{ at: number; type: string; message: string; code?: string; source?: string; attempt?: number;
 *   retryInMs?: number; fingerprint?: string; level?: string; event?: string; details?: Record<string, unknown> }>}
 */
const log = [];
/** Every state the badge has shown, oldest first, for the tests: `{ at, state }`. */
const badges = [];

function addLog(type, message, extra = {}) {
  const entry = { at: Date.now(), type, message, ...extra };
  log.push(entry);
  const item = document.createElement('li');
  item.className = `log-entry log-${type}`;
  if (entry.level) item.classList.add(`log-level-${entry.level}`);
  // Debug entries, and the logger's copy of an `error` the page already shows, appear with "debug" ticked.
  if (entry.level === 'debug' || entry.event === 'error') item.classList.add('log-verbose');
  const time = document.createElement('span');
  time.className = 'log-time';
  time.textContent = clockTimeMs(entry.at);
  const name = document.createElement('span');
  name.className = 'log-type';
  name.textContent = entry.event ?? (extra.code ? `${type} ${extra.code}` : type);
  const text = document.createElement('span');
  text.className = 'log-message';
  text.textContent = message;
  item.append(time, name, text);
  const list = $('log');
  list.prepend(item);
  while (list.childElementCount > MAX_LOG) list.lastElementChild?.remove();
  return entry;
}

/** One `logger` entry as a compact line: its details as `key value`, times and durations made readable. */
function describeLogEntry({ event, message, details }) {
  if (event === 'state') return `${details.previousState} → ${details.state}`;
  if (event === 'error') return message;
  const parts = [];
  for (const [key, value] of Object.entries(details)) {
    if (value === undefined) continue;
    if (key === 'fingerprint') parts.push(`#${value}`);
    else if (key === 'at' && typeof value === 'number') parts.push(`at ${clockTime(value)}`);
    else if (key.endsWith('Ms') && typeof value === 'number') parts.push(`${key.slice(0, -2)} ${shortDuration(value)}`);
    else if (key === 'skew' && typeof value === 'number') parts.push(`skew ${value < 0 ? '−' : '+'}${shortDuration(Math.abs(value))}`);
    else parts.push(`${key} ${value}`);
  }
  return parts.join(' · ') || message;
}

/** The `logger` option: structured entries `{ level, event, message, ...details }`, never a token. */
function logger(entry) {
  const { level, event, message, ...details } = entry;
  addLog('log', describeLogEntry({ event, message, details }), { level, event, details });
}

// ---------------------------------------------------------------------------------------------------------------
// Time. The server stamps every response with its clock; the page keeps its own estimate of the offset only to
// draw the countdown (the manager does its own skew correction from the `serverTime` the fetcher returns).

let skewMs = 0;
function observeServerTime(serverTime, sentAt) {
  if (!Number.isFinite(serverTime)) return;
  const receivedAt = Date.now();
  skewMs = serverTime - (sentAt + receivedAt) / 2;
}
const serverNow = () => Date.now() + skewMs;

// ---------------------------------------------------------------------------------------------------------------
// The token fetcher: what an app writes against its own backend.

async function fetchToken({ signal, reason, attempt }) {
  const query = new URLSearchParams({ identity, ttl });
  const sentAt = Date.now();
  const response = await fetch(`/token?${query}`, {
    signal,
    cache: 'no-store',
    headers: { 'X-Fetch-Reason': reason, 'X-Fetch-Attempt': String(attempt), 'X-Tab-Id': tabId },
  });
  if (!response.ok) {
    const error = new Error(`token endpoint answered ${response.status}`);
    // 401/403 tell the manager to stop retrying (FETCH_UNAUTHORIZED); anything else is retried with backoff.
    error.status = response.status;
    throw error;
  }
  const body = await response.json();
  // Prefer the millisecond server time from the body; the Date header (1 s resolution) is the portable fallback.
  const serverTime = typeof body.serverTime === 'number' ? body.serverTime : Date.parse(response.headers.get('Date') ?? '');
  observeServerTime(serverTime, sentAt);
  return Number.isFinite(serverTime) ? { token: body.token, serverTime } : body.token;
}

// ---------------------------------------------------------------------------------------------------------------
// Simulated SDK clients. Voice (like the Voice SDK's Device) updates synchronously; Chat and Sync resolve later.

function createClient(name, grant, delayMs) {
  const client = {
    name,
    grant,
    delayMs,
    /** @type {string | undefined} */
    token: undefined,
    /** @type {number | undefined} */
    receivedAt: undefined,
    updates: 0,
    updateToken(token) {
      const apply = () => {
        client.token = token;
        client.receivedAt = Date.now();
        client.updates += 1;
        renderClient(client, true);
      };
      if (delayMs === 0) {
        apply();
        return undefined;
      }
      return new Promise((resolve) => setTimeout(() => resolve(apply()), delayMs));
    },
  };
  return client;
}

const clients = [createClient('Chat', 'chat', 150), createClient('Sync', 'data_sync', 400), createClient('Voice', 'voice', 0)];

function renderClientsSkeleton() {
  const list = $('clients');
  list.replaceChildren(
    ...clients.map((client) => {
      const item = document.createElement('li');
      item.className = 'client';
      item.dataset.client = client.name.toLowerCase();
      item.innerHTML = `
        <div class="client-icon" aria-hidden="true"></div>
        <div class="client-name"><strong></strong><span class="client-kind"></span></div>
        <code class="client-fp">–</code>
        <span class="client-when">waiting for a token</span>
        <span class="client-sync" title="holds the manager's current token"></span>`;
      item.querySelector('.client-icon').textContent = client.name[0];
      item.querySelector('strong').textContent = client.name;
      item.querySelector('.client-kind').textContent =
        client.delayMs === 0 ? 'sync updateToken' : `async updateToken · ${client.delayMs} ms`;
      return item;
    }),
  );
}

function renderClient(client, flash = false) {
  const item = document.querySelector(`[data-client="${client.name.toLowerCase()}"]`);
  if (!item) return;
  item.querySelector('.client-fp').textContent = fingerprint(client.token);
  item.querySelector('.client-when').textContent =
    client.receivedAt === undefined ? 'waiting for a token' : `received ${clockTime(client.receivedAt)} · #${client.updates}`;
  const current = manager?.token;
  item.classList.toggle('is-current', client.token !== undefined && client.token === current);
  item.classList.toggle('is-stale', client.token !== undefined && client.token !== current);
  if (flash) {
    item.classList.remove('flash');
    void item.offsetWidth; // restart the animation
    item.classList.add('flash');
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The manager.

/** @type {any} */
let manager;
const TW = /** @type {any} */ (window).TokenWarden;

function showBanner(text) {
  const banner = $('banner');
  banner.textContent = text;
  banner.hidden = false;
}

$('tab-id').textContent = tabId;
$('identity-input').value = identity;
$('ttl').textContent = `${ttl} s`;
$('warn-label').textContent = `tokenAboutToExpire ${duration(ABOUT_TO_EXPIRE_MS)} before expiry`;
renderClientsSkeleton();

if (!TW?.AccessManager) {
  showBanner('dist/token-warden.umd.min.js did not load: run `npm run build` (or `npm run demo`).');
} else if (!IDENTITY_PATTERN.test(identity)) {
  showBanner(`"${identity}" is not a valid identity: use letters, digits and _ only.`);
} else {
  try {
    manager = new TW.AccessManager({
      fetchToken,
      crossTab: true,
      aboutToExpireMs: ABOUT_TO_EXPIRE_MS,
      ...(REFRESH_SPREAD_MS === undefined ? {} : { refreshSpreadMs: REFRESH_SPREAD_MS }),
      logger,
    });
  } catch (error) {
    showBanner(`new AccessManager() threw: ${error?.message ?? error}`);
  }
}

if (manager) {
  manager.on('tokenUpdated', (info) => {
    const fp = fingerprint(info.token);
    const left = info.expiresAt.getTime() - serverNow();
    addLog('tokenUpdated', `source ${info.source} · ${fp} · ${info.identity ?? '?'} · expires in ${duration(left)}`, {
      source: info.source,
      fingerprint: fp,
    });
    $('last-source').textContent = `${info.source} at ${clockTime(Date.now())}`;
    renderToken();
    for (const client of clients) renderClient(client);
  });
  manager.on('tokenAboutToExpire', (info) => {
    addLog('tokenAboutToExpire', `${fingerprint(info.token)} · ${seconds(info.msLeft)} left`, {
      fingerprint: fingerprint(info.token),
    });
  });
  manager.on('tokenExpired', (info) => {
    addLog('tokenExpired', `${fingerprint(info.token)} expired at ${clockTime(info.expiresAt.getTime())}`, {
      fingerprint: fingerprint(info.token),
    });
  });
  manager.on('error', (error) => {
    const parts = [error.message];
    if (error.clientName && !error.message.includes(error.clientName)) parts.unshift(`client ${error.clientName}`);
    if (error.retryInMs !== undefined) parts.push(`retry in ${seconds(error.retryInMs)}`);
    else if (error.attempt !== undefined) parts.push('no retry');
    addLog('error', parts.join(' · '), {
      code: error.code,
      attempt: error.attempt,
      retryInMs: error.retryInMs,
    });
  });

  // The state badge: `subscribe` calls back after every change of the snapshot (state, token, lastError).
  manager.subscribe(renderState);
  renderState(manager.getSnapshot());

  manager.addClient(clients[0], { name: 'Chat', grants: ['chat'] });
  manager.addClient(clients[1], { name: 'Sync', grants: ['data_sync'] });
  manager.addClient(clients[2], { name: 'Voice', grants: ['voice'] });
  addLog('info', `AccessManager created for ${identity} (crossTab: true, tab ${tabId})`);
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering of the token card and the status bar.

function renderState({ state, lastError }) {
  const badge = $('state');
  badge.title = lastError ? `last error: ${lastError.code}` : '';
  if (badge.dataset.state === state && badges.length > 0) return;
  badge.textContent = state;
  badge.dataset.state = state;
  badges.push({ at: Date.now(), state });
}

function renderToken() {
  const token = manager?.token;
  if (!token) return;
  let decoded;
  try {
    decoded = TW.decodeToken(token);
  } catch {
    return;
  }
  const exp = decoded.expiresAt.getTime();
  const iat = decoded.issuedAt?.getTime() ?? exp - Number(ttl) * 1000;
  const now = serverNow();
  const left = exp - now;
  const life = Math.max(1, exp - iat);
  $('identity').textContent = decoded.identity ?? '–';
  $('fingerprint').textContent = fingerprint(token);
  $('issued-at').textContent = clockTime(iat - skewMs);
  $('expires-at').textContent = clockTime(exp - skewMs);
  $('grants').textContent = Object.keys(decoded.grants).filter((g) => g !== 'identity').join(', ') || '–';
  $('countdown').textContent = left > 0 ? duration(left) : 'expired';
  const phase = left <= 0 ? 'expired' : left <= ABOUT_TO_EXPIRE_MS ? 'warning' : 'ok';
  $('countdown').dataset.phase = phase;
  const fill = $('lifetime-fill');
  fill.style.width = `${Math.min(100, Math.max(0, (left / life) * 100)).toFixed(2)}%`;
  fill.dataset.phase = phase;
  $('lifetime-marker').style.left = `${Math.min(100, (ABOUT_TO_EXPIRE_MS / life) * 100).toFixed(2)}%`;
  $('skew').textContent = Math.abs(skewMs) < 1000 ? 'none' : `${skewMs > 0 ? '+' : '−'}${seconds(Math.abs(skewMs))}`;
}

setInterval(renderToken, 250);
renderToken();

const FAULT_LABELS = {
  fail500: '500',
  slow: 'slow',
  hang: 'hang',
  unauthorized: '401',
  malformed: 'malformed',
  wrongIdentity: 'wrong identity',
};

// Server counters: polled, since another tab (or a test) may be the one fetching.
let statsInFlight = false;
async function pollStats() {
  if (statsInFlight) return;
  statsInFlight = true;
  try {
    const sentAt = Date.now();
    const stats = await (await fetch('/stats', { cache: 'no-store' })).json();
    observeServerTime(stats.serverTime, sentAt);
    $('fetch-count').textContent = String(stats.fetches);
    const armed = Object.entries(stats.faults)
      .filter(([key, n]) => key !== 'slowMs' && n > 0)
      .map(([key, n]) => `${FAULT_LABELS[key] ?? key} × ${n}`);
    $('armed').textContent = armed.length ? `armed: ${armed.join(', ')}` : 'no faults armed';
    $('armed').classList.toggle('is-armed', armed.length > 0);
  } catch {
    $('fetch-count').textContent = '?';
  } finally {
    statsInFlight = false;
  }
}
setInterval(pollStats, 1000);
pollStats();

// ---------------------------------------------------------------------------------------------------------------
// Controls.

$('btn-refresh').addEventListener('click', () => {
  if (!manager) return;
  addLog('info', 'refresh() called');
  manager.refresh().then(
    (token) => addLog('info', `refresh() resolved with ${fingerprint(token)}`),
    (error) => addLog('info', `refresh() rejected: ${error?.code ?? error?.message ?? error}`),
  );
});

for (const button of document.querySelectorAll('[data-fault]')) {
  button.addEventListener('click', async () => {
    const fault = button.dataset.fault;
    const count = Number(button.dataset.count ?? 1);
    const response = await fetch('/faults', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ [fault]: count }),
    });
    addLog('info', response.ok ? `fault armed: ${button.title}` : `could not arm the fault (HTTP ${response.status})`);
    pollStats();
  });
}

$('btn-reset').addEventListener('click', async () => {
  await fetch('/reset', { method: 'POST' });
  addLog('info', 'server reset: faults cleared, fetch count 0');
  pollStats();
});

$('btn-tab').addEventListener('click', () => {
  window.open(location.href, '_blank');
});

$('log-debug').addEventListener('change', (event) => {
  $('log').classList.toggle('show-verbose', /** @type {HTMLInputElement} */ (event.target).checked);
});

$('btn-clear').addEventListener('click', () => {
  log.length = 0;
  $('log').replaceChildren();
});

$('identity-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const next = /** @type {HTMLInputElement} */ ($('identity-input')).value.trim();
  if (!IDENTITY_PATTERN.test(next)) {
    showBanner(`"${next}" is not a valid identity: use letters, digits and _ only.`);
    return;
  }
  const url = new URL(location.href);
  url.searchParams.set('identity', next);
  location.assign(url);
});

// Let the other tabs take over at once (a page kept in the back/forward cache keeps its manager).
window.addEventListener('pagehide', (event) => {
  if (!event.persisted) manager?.dispose();
});

/** For the e2e tests and the curious: `demo.manager.state`, `demo.clients[0].token`, `demo.log`, `demo.badges`. */
window.demo = { manager, clients, log, badges, fingerprint, tabId, get skewMs() { return skewMs; } };
