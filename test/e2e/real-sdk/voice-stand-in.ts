// A small stand-in for the Voice SDK's signaling server (wss://voice-js.<edge>.twilio.com/signal, formerly
// chunderw-*), answering the page's WebSocket through Playwright's `routeWebSocket`.
//
// The wire format is JSON text frames `{ type, version, payload }`. What the Device sends and what this stand-in
// answers:
// - `listen` (`payload.token`), sent when the socket opens and again on every `device.updateToken()` while the
//   socket exists: `connected` with `{ region, home, token: { identity, ttl } }`. The Device arms its own
//   `tokenWillExpire` timer from that `ttl` (seconds) minus its `tokenRefreshMs` option.
// - `register` (`payload.media.audio`): `ready` (or `offline` for `audio: false`, an unregister).
// - a `listen` the test told it to refuse: `error` with `{ error: { code, message } }`, e.g. 31205 "JWT token
//   expired", which the Device turns into an `error` event carrying a TwilioError (`code` 20104,
//   `originalError.code` 31205). The Device then waits: it registers only once a later `listen` is answered.
// Server pushes: the same `error`, at any time.
import type { BrowserContext, WebSocketRoute } from 'playwright-core';

interface SignalingMessage {
  type: string;
  version?: string;
  payload?: { token?: string; media?: { audio?: boolean } };
}

export class VoiceStandIn {
  readonly sockets: Array<{ ws: WebSocketRoute; open: boolean }> = [];
  /** Tokens received in `listen` messages, in order, and whether they were answered with `connected`. */
  readonly listens: Array<{ token: string; accepted: boolean }> = [];
  readonly log: string[] = [];
  readonly #refusals: Array<{ code: number; message: string }> = [];
  /**
   * The `ttl` (seconds) reported for a token in `connected`. Default: what the token has left, from its `exp`.
   * `index` counts the `listen` messages received so far (0 for the first).
   */
  ttlFor: (token: string, index: number) => number = (token) => secondsLeft(token);

  async install(context: BrowserContext): Promise<void> {
    await context.routeWebSocket(/^wss:\/\/(voice-js|chunderw)[^/]*\.twilio\.com\//, (ws) => this.#accept(ws));
  }

  /** The next `listen` gets a signaling error instead of `connected`. */
  refuseNextListen(code = 31205, message = 'JWT token expired'): void {
    this.#refusals.push({ code, message });
  }

  /** Tokens of the `listen` messages, in order. */
  tokens(): string[] {
    return this.listens.map((listen) => listen.token);
  }

  /** Sends a signaling error to every open socket, as the server does for a rejected token. */
  error(code: number, message: string): number {
    const open = this.sockets.filter((s) => s.open);
    for (const socket of open) {
      socket.ws.send(JSON.stringify({ type: 'error', version: '1.6', payload: { error: { code, message } } }));
    }
    return open.length;
  }

  #accept(ws: WebSocketRoute): void {
    const socket = { ws, open: true };
    this.sockets.push(socket);
    ws.onClose(() => {
      socket.open = false;
    });
    ws.onMessage((message) => {
      const { type, payload = {} } = JSON.parse(String(message)) as SignalingMessage;
      this.log.push(`<- ${type}`);
      const send = (reply: object) => ws.send(JSON.stringify({ version: '1.6', ...reply }));
      if (type === 'listen') {
        const token = String(payload.token);
        const refusal = this.#refusals.shift();
        const index = this.listens.push({ token, accepted: !refusal }) - 1;
        if (refusal) {
          send({ type: 'error', payload: { error: refusal } });
          return;
        }
        send({
          type: 'connected',
          payload: { region: 'us1', home: 'us1', token: { identity: identityOf(token), ttl: this.ttlFor(token, index) } },
        });
      } else if (type === 'register') {
        send({ type: payload.media?.audio === false ? 'offline' : 'ready', payload: {} });
      }
    });
  }
}

function claims(token: string): { exp?: number; grants?: { identity?: string } } {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
    exp?: number;
    grants?: { identity?: string };
  };
}

function identityOf(token: string): string | undefined {
  return claims(token).grants?.identity;
}

function secondsLeft(token: string): number {
  return Math.max(0, Math.floor((claims(token).exp ?? 0) - Date.now() / 1000));
}
