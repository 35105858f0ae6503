// A small stand-in for Twilio's twilsock server (wss://tsock.<region>.twilio.com/v3/wsconnect), the transport of
// Conversations and Sync, answering the page's WebSocket through Playwright's `routeWebSocket`.
//
// The wire format (twilsock 1.x, binary frames): `TWILSOCK V3.0 <header bytes>\r\n<JSON header>\r\n<payload>`, the
// header carrying `method`, `id` and `payload_size`. What the SDKs send and what this stand-in answers:
// - `init` (with `token`): a `reply` 200, or 401 with `errorCode` (20104 = token expired) when told to reject.
//   A 401 makes the SDK emit `tokenExpired` (for 20104) and `connectionError { terminal, httpStatusCode, errorCode }`.
// - `update` (with `token`, the result of `client.updateToken`): a `reply` 200, or the same 401 when told to reject.
// - `message` (an HTTP request tunnelled through twilsock, `http_request: { host, path, method }`): Conversations
//   asks for `/Client/v2/Configuration` before it calls itself initialized; this stand-in answers that one with a
//   minimal configuration (no user info document, so no Sync objects are needed) and leaves every other request
//   unanswered (the SDKs time those out after 20 s; no test waits that long).
// - `reply` (the SDK acknowledging a message of ours), `close`, `telemetry`: ignored.
// Server pushes: `client_update` with `client_update_type: 'token_about_to_expire'` (the SDK emits
// `tokenAboutToExpire`), `close` with status 410 for a token that expired on a live connection (the SDK emits
// `tokenExpired`, closes the socket and waits for `updateToken`), and closing the socket (the SDK reconnects after its backoff, about a second, and sends a
// new `init` with the token it holds).
import type { BrowserContext, WebSocketRoute } from 'playwright-core';

export type TwilsockProduct = 'conversations' | 'sync';

interface Header {
  method: string;
  id?: string;
  token?: string;
  payload_size?: number;
  metadata?: { type?: string };
  http_request?: { host?: string; path?: string; method?: string };
  [key: string]: unknown;
}

/** One WebSocket the page opened to twilsock. */
export interface TwilsockConnection {
  /** From the `init` message's client metadata; undefined until the init arrived. */
  product?: TwilsockProduct;
  ws: WebSocketRoute;
  open: boolean;
}

/** A token the stand-in received, in order of arrival. */
export interface TokenSeen {
  product: TwilsockProduct;
  via: 'init' | 'update';
  token: string;
  /** What the stand-in answered. */
  accepted: boolean;
}

export interface Rejection {
  /** HTTP-like status of the reply. Default 401. */
  code?: number;
  /** Twilio error code. Default 20104 (token expired). */
  errorCode?: number;
}

export function encodePacket(header: Header, payload?: unknown): Buffer {
  const body = payload === undefined ? '' : JSON.stringify(payload);
  const head = JSON.stringify({ ...header, payload_size: Buffer.byteLength(body) });
  return Buffer.from(`TWILSOCK V3.0 ${Buffer.byteLength(head)}\r\n${head}\r\n${body}`);
}

export function decodePacket(data: Buffer): { header: Header; payload?: unknown } {
  const lineEnd = data.indexOf('\r\n');
  const [protocol, version, size] = data.subarray(0, lineEnd).toString('latin1').split(' ');
  if (protocol !== 'TWILSOCK' || version !== 'V3.0') throw new Error(`not a twilsock packet: ${protocol} ${version}`);
  const headerStart = lineEnd + 2;
  const headerEnd = headerStart + Number(size);
  const header = JSON.parse(data.subarray(headerStart, headerEnd).toString('utf8')) as Header;
  const payloadSize = header.payload_size ?? 0;
  if (payloadSize === 0) return { header };
  const text = data.subarray(headerEnd + 2, headerEnd + 2 + payloadSize).toString('utf8');
  try {
    return { header, payload: JSON.parse(text) };
  } catch {
    return { header, payload: text };
  }
}

const OK = { code: 200, status: 'OK' };

/** What Conversations needs from `GET /Client/v2/Configuration` to finish its initialization. */
function conversationsConfiguration(identity: string) {
  const service = 'IS' + '0'.repeat(32);
  const base = `https://aim.us1.twilio.com/Client/v2/Services/${service}`;
  return {
    identity,
    links: {
      my_conversations: `${base}/Users/${identity}/Conversations`,
      conversations: `${base}/Conversations`,
      users: `${base}/Users`,
      current_user: `${base}/Users/${identity}`,
      typing: `${base}/Typing`,
      media_service: `https://mcs.us1.twilio.com/v1/Services/${service}/Media`,
      media_set_service: `https://mcs.us1.twilio.com/v1/Services/${service}/MediaSet`,
      messages_receipts: `${base}/Conversations/%s/Messages/%s/Receipts`,
    },
    options: {
      reachability_enabled: false,
      http_cache_interval: 'PT5S',
      consumption_report_interval: 'PT5S',
      user_infos_to_subscribe: 100,
      media_attachments_count_limit: 10,
      media_attachment_size_limit_in_mb: 16,
      media_attachments_total_size_limit_in_mb: 16,
      email_histories_allowed_mime_types: [],
      email_bodies_allowed_mime_types: [],
    },
    // No user info document: Conversations then skips subscribing to the user's Sync map.
    sync_objects: { my_user_info: null, my_conversations: 'MP' + '0'.repeat(32) },
  };
}

export class TwilsockStandIn {
  readonly connections: TwilsockConnection[] = [];
  readonly tokens: TokenSeen[] = [];
  /** Packets received, for debugging a failure. */
  readonly log: string[] = [];
  /** Products whose socket is refused (closed at once, before any message): the SDK cannot get online. */
  readonly unreachable = new Set<TwilsockProduct | 'all'>();
  readonly #rejectInit = new Map<TwilsockProduct, Rejection[]>();
  readonly #rejectUpdate = new Map<TwilsockProduct, Rejection[]>();
  #ids = 0;

  constructor(readonly identity = 'alice') {}

  async install(context: BrowserContext): Promise<void> {
    await context.routeWebSocket(/^wss:\/\/tsock\.[^/]+\.twilio\.com\//, (ws) => this.#accept(ws));
  }

  /** The next `init` from this product gets a 401 with `errorCode` instead of a 200. */
  rejectNextInit(product: TwilsockProduct, rejection: Rejection = {}): void {
    this.#queue(this.#rejectInit, product).push(rejection);
  }

  /** The next `update` from this product gets a 401 with `errorCode` instead of a 200. */
  rejectNextUpdate(product: TwilsockProduct, rejection: Rejection = {}): void {
    this.#queue(this.#rejectUpdate, product).push(rejection);
  }

  /** Tokens this product presented (init or update), in order. */
  tokensOf(product: TwilsockProduct, via?: TokenSeen['via']): string[] {
    return this.tokens.filter((t) => t.product === product && (via === undefined || t.via === via)).map((t) => t.token);
  }

  /** Open, initialized connections of this product. */
  openConnections(product: TwilsockProduct): TwilsockConnection[] {
    return this.connections.filter((c) => c.open && c.product === product);
  }

  /** Tells every open connection of this product that its token is about to expire, as twilsock does. */
  tokenAboutToExpire(product: TwilsockProduct): number {
    const open = this.openConnections(product);
    for (const connection of open) {
      connection.ws.send(
        encodePacket({ method: 'client_update', id: this.#id(), client_update_type: 'token_about_to_expire' }),
      );
    }
    return open.length;
  }

  /**
   * Ends every open connection of this product with a twilsock `close` message, as the server does when the token
   * expires on a live connection: status 410 (the SDK emits `tokenExpired` and stays disconnected until its next
   * `updateToken`). The `errorCode` travels in the status, but twilsock 1.x does not pass it on.
   */
  closeExpired(product: TwilsockProduct, errorCode = 51207): number {
    const open = this.openConnections(product);
    for (const connection of open) {
      const status = { code: 410, status: 'GONE', errorCode, description: 'Access Token expired' };
      connection.ws.send(encodePacket({ method: 'close', id: this.#id(), status }));
    }
    return open.length;
  }

  /** Closes every open connection of this product from the server side, like a dropped network path. */
  drop(product: TwilsockProduct): number {
    const open = this.openConnections(product);
    for (const connection of open) {
      connection.open = false;
      void connection.ws.close({ code: 1012, reason: 'service restart' });
    }
    return open.length;
  }

  #queue(map: Map<TwilsockProduct, Rejection[]>, product: TwilsockProduct): Rejection[] {
    let queue = map.get(product);
    if (!queue) map.set(product, (queue = []));
    return queue;
  }

  #id(): string {
    return `TMstandin${++this.#ids}`;
  }

  #accept(ws: WebSocketRoute): void {
    const connection: TwilsockConnection = { ws, open: true };
    this.connections.push(connection);
    ws.onClose(() => {
      connection.open = false;
    });
    if (this.unreachable.has('all')) {
      connection.open = false;
      void ws.close({ code: 1011, reason: 'unreachable' });
      return;
    }
    ws.onMessage((message) => {
      const data = typeof message === 'string' ? Buffer.from(message) : message;
      const { header, payload } = decodePacket(data);
      this.log.push(`${connection.product ?? '?'} <- ${header.method} ${header.http_request?.path ?? ''}`);
      this.#handle(connection, header, payload);
    });
  }

  #handle(connection: TwilsockConnection, header: Header, _payload: unknown): void {
    const { ws } = connection;
    const reply = (extra: Record<string, unknown>, payload?: unknown) =>
      ws.send(encodePacket({ method: 'reply', id: header.id, ...extra }, payload));
    switch (header.method) {
      case 'init': {
        const product: TwilsockProduct = header.metadata?.type === 'conversations' ? 'conversations' : 'sync';
        connection.product = product;
        if (this.unreachable.has(product)) {
          connection.open = false;
          void ws.close({ code: 1011, reason: 'unreachable' });
          return;
        }
        const rejection = this.#rejectInit.get(product)?.shift();
        this.tokens.push({ product, via: 'init', token: String(header.token), accepted: !rejection });
        if (rejection) {
          reply({ status: rejectionStatus(rejection) });
          return;
        }
        reply({
          status: OK,
          continuation_token: `CT-${product}-${this.#ids++}`,
          continuation_token_status: { reused: false },
          capabilities: ['client_update', 'offline_storage', 'telemetry.v1'],
          offline_storage: {},
          init_registrations: [],
          debug_info: {},
        });
        return;
      }
      case 'update': {
        const product = connection.product ?? 'sync';
        const rejection = this.#rejectUpdate.get(product)?.shift();
        this.tokens.push({ product, via: 'update', token: String(header.token), accepted: !rejection });
        reply({ status: rejection ? rejectionStatus(rejection) : OK });
        return;
      }
      case 'message': {
        const path = header.http_request?.path ?? '';
        if (path.endsWith('/Client/v2/Configuration')) {
          reply(
            { status: OK, http_status: OK, http_headers: { 'Content-Type': 'application/json' }, payload_type: 'application/json' },
            conversationsConfiguration(this.identity),
          );
        }
        // Anything else stays unanswered: no test needs it.
        return;
      }
      default:
        // `reply` (acknowledgements), `close`, `telemetry`, notification-context registrations: nothing to answer
        // that a test depends on; registrations are acknowledged so the SDK does not retry them.
        if (header.method !== 'reply' && header.method !== 'close' && header.id !== undefined) reply({ status: OK });
    }
  }
}

function rejectionStatus({ code = 401, errorCode = 20104 }: Rejection) {
  return {
    code,
    status: code === 401 ? 'UNAUTHORIZED' : 'FORBIDDEN',
    errorCode,
    description: errorCode === 20104 ? 'Access Token expired or expiration date invalid' : 'Invalid Access Token',
  };
}
