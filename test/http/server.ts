// A real HTTP server on 127.0.0.1 for the http helpers' tests: every request is recorded (method, path, headers,
// body) and whether the client went away before the answer, so tests assert on what actually crossed the socket.
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  /** Path and query string, e.g. `/token?x=1`. */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** Set when the client closed the connection before a response was sent. */
  aborted: boolean;
}

export type Handler = (request: ReceivedRequest, response: ServerResponse) => void | Promise<void>;

export interface TestServer {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:43123`. */
  origin: string;
  requests: ReceivedRequest[];
  /** Requests whose path (without query) is `path`. */
  to(path: string): ReceivedRequest[];
  /** Resolves once `count` requests have been aborted by the client. */
  abortedRequests(count?: number): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

export async function startServer(handler: Handler): Promise<TestServer> {
  const requests: ReceivedRequest[] = [];
  const abortWaiters: Array<() => void> = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const received: ReceivedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        aborted: false,
      };
      requests.push(received);
      res.on('close', () => {
        if (!res.writableFinished) {
          received.aborted = true;
          abortWaiters.splice(0).forEach((wake) => wake());
        }
      });
      Promise.resolve(handler(received, res)).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(599);
        res.end(String(error));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    to: (path) => requests.filter((r) => r.url.split('?')[0] === path),
    abortedRequests: async (count = 1) => {
      while (requests.filter((r) => r.aborted).length < count) {
        await new Promise<void>((resolve) => abortWaiters.push(resolve));
      }
      return requests.filter((r) => r.aborted);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Answers with a JSON body. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

/** Answers with a text body. */
export function sendText(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  res.end(body);
}

/** Resolves after `ms` of real time (only for tiny socket-related waits). */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
