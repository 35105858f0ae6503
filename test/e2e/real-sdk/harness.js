// Page side of the real-SDK tests, loaded after the two bundles (window.RealSdks, window.TokenWardenE2E). It builds
// one AccessManager and the real SDK clients on request and records what happens, for the Node side to read:
// fetches (with their reason), manager errors, updateToken calls on each client (a spy that calls through to the
// SDK's own method) and the SDK events connectTwilioClient listens to. Tokens come from `window.mintToken()`, a
// function the Node side exposes (it mints real Twilio tokens with the `twilio` package).
(() => {
  const { AccessManager, connectTwilioClient } = window.TokenWardenE2E;
  const { ConversationsClient, SyncClient, Device } = window.RealSdks;
  // Every event connectTwilioClient may listen to.
  const EVENTS = ['tokenAboutToExpire', 'tokenWillExpire', 'tokenExpired', 'error', 'connectionError', 'destroyed'];
  const started = performance.now();
  const now = () => Math.round(performance.now() - started);
  const short = (token) => (typeof token === 'string' ? token.slice(-8) : String(token));

  const h = (window.harness = {
    EVENTS,
    fetches: [],
    errors: [],
    updates: [],
    calls: [],
    sdkEvents: [],
    clients: {},
    disconnects: {},
    /** Latest state each SDK reported: Conversations `stateChanged`, Sync `connectionStateChanged`, Device state. */
    states: {},
    manager: undefined,
    now,

    /** `options` go to the AccessManager, except `random`: a fixed value for the clock's random() (backoff jitter). */
    async createManager({ random, ...options } = {}) {
      const token = await window.mintToken();
      const clock =
        random === undefined
          ? undefined
          : {
              now: () => Date.now(),
              setTimeout: (callback, ms) => setTimeout(callback, ms),
              clearTimeout: (id) => clearTimeout(id),
              random: () => random,
            };
      const manager = new AccessManager({
        ...(clock ? { clock } : {}),
        token,
        fetchToken: async ({ reason, attempt }) => {
          h.fetches.push({ reason, attempt, at: now() });
          return window.mintToken();
        },
        retry: false,
        ...options,
      });
      manager.on('error', (error) =>
        h.errors.push({
          code: error.code,
          clientName: error.clientName,
          twilioCode: error.twilioCode,
          message: error.message,
          at: now(),
          // For "never delays the others": which clients already held the manager's token at that moment.
          holding: Object.keys(h.clients).filter((name) => h.tokenOf(name) === manager.token),
        }),
      );
      manager.on('tokenUpdated', ({ token: next, source }) => h.updates.push({ source, token: next, at: now() }));
      h.manager = manager;
      return token;
    },

    /** Creates a real SDK client with the manager's token. `watch` records its token events (adds listeners). */
    createClient(name, { watch = true, options = {} } = {}) {
      const token = h.manager.token;
      let client;
      if (name === 'conversations') client = new ConversationsClient(token, { logLevel: 'silent', ...options });
      else if (name === 'sync') client = new SyncClient(token, { logLevel: 'silent', ...options });
      else if (name === 'voice') client = new Device(token, { logLevel: 'silent', ...options });
      else throw new Error('unknown client ' + name);
      h.clients[name] = client;
      // Readiness, for the Node side to wait on. These listeners are on events connectTwilioClient does not use.
      if (name === 'conversations') client.on('stateChanged', (state) => (h.states[name] = state));
      if (name === 'sync') client.on('connectionStateChanged', (state) => (h.states[name] = state));
      if (name === 'voice') {
        for (const state of ['registered', 'unregistered', 'registering', 'destroyed']) {
          client.on(state, () => (h.states[name] = state));
        }
      }
      if (watch) {
        for (const event of EVENTS) {
          client.on(event, (arg) =>
            h.sdkEvents.push({ client: name, event, at: now(), code: arg && (arg.errorCode ?? arg.code) }),
          );
        }
      }
      return client;
    },

    /** Wraps the client's own updateToken to record each call and how it settled; the SDK method still runs. */
    spy(name) {
      const client = h.clients[name];
      const original = client.updateToken;
      client.updateToken = function (token) {
        const call = { client: name, token, at: now(), settled: 'pending' };
        h.calls.push(call);
        let result;
        try {
          result = original.call(this, token);
        } catch (error) {
          call.settled = 'threw';
          call.error = String(error);
          throw error;
        }
        if (result && typeof result.then === 'function') {
          result.then(
            () => Object.assign(call, { settled: 'resolved', settledAt: now() }),
            (error) => Object.assign(call, { settled: 'rejected', settledAt: now(), error: String(error && error.message) }),
          );
        } else {
          Object.assign(call, { settled: 'returned', settledAt: now() });
        }
        return result;
      };
    },

    /**
     * The usual wiring: a manager, then each named client created with its token, spied on and connected.
     * The Voice Device is registered (its signaling socket opened) unless `register` is false.
     */
    async setup({ names = ['conversations', 'sync', 'voice'], manager = {}, voice = {}, register = true } = {}) {
      await h.createManager(manager);
      for (const name of names) {
        h.createClient(name, { options: name === 'voice' ? voice : {} });
        h.spy(name);
        h.connect(name);
      }
      if (register && h.clients.voice) {
        // Not awaited: with a refused token, registration completes only after the manager's refresh.
        h.clients.voice.register().catch((error) => h.sdkEvents.push({ client: 'voice', event: 'registerFailed', code: error.code }));
      }
    },

    connect(name) {
      h.disconnects[name] = connectTwilioClient(h.manager, h.clients[name], { name });
    },

    disconnect(name) {
      h.disconnects[name]();
    },

    listenerCounts(name) {
      const client = h.clients[name];
      return Object.fromEntries(EVENTS.map((event) => [event, client.listenerCount(event)]));
    },

    /** The token the client currently holds, as the SDK itself reports it. */
    tokenOf(name) {
      const client = h.clients[name];
      if (name === 'voice') return client.token;
      if (name === 'conversations') return client.token;
      // SyncClient has no public getter: the token its twilsock holds (stored as soon as updateToken is called).
      return client.services.twilsock.config.token;
    },

    summary() {
      return {
        fetches: h.fetches,
        errors: h.errors.map((e) => ({ ...e })),
        updates: h.updates.map((u) => ({ ...u, token: short(u.token) })),
        calls: h.calls.map((c) => ({ ...c, token: short(c.token) })),
        sdkEvents: h.sdkEvents,
        managerToken: short(h.manager && h.manager.token),
        states: { ...h.states },
        holding: Object.fromEntries(Object.keys(h.clients).map((name) => [name, short(h.tokenOf(name))])),
      };
    },
  });
})();
