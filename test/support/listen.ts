// An HTTP server for an app on a free local port, with keep-alive sockets kept open as long as load generators
// hold them, and a keep-alive client for such load (chaos, failover and soak tests).
import { Agent, request as httpRequest, type Server } from 'node:http';
import type { Express } from 'express';

export async function listenLocally(app: Express): Promise<{ server: Server; port: number }> {
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
    s.keepAliveTimeout = 120_000; // idle keep-alive sockets are not closed under the client's feet
  });
  const address = server.address();
  return { server, port: typeof address === 'object' && address !== null ? address.port : 0 };
}

export interface LoadAnswer {
  status: number;
  body: string;
  setCookie: string[];
}

/**
 * A keep-alive client for load on local apps: `call` sends one request (failing after 30 s: a hang is an error,
 * never a stuck test); `close` ends its sockets.
 */
export function loadClient(maxSockets = 64): {
  call: (port: number, method: string, path: string, cookie?: string) => Promise<LoadAnswer>;
  close: () => void;
} {
  const agent = new Agent({ keepAlive: true, maxSockets });
  return {
    call: (port, method, path, cookie) =>
      new Promise((resolve, reject) => {
        const req = httpRequest(
          { host: '127.0.0.1', port, method, path, agent, headers: cookie === undefined ? {} : { cookie } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                body: Buffer.concat(chunks).toString(),
                setCookie: res.headers['set-cookie'] ?? [],
              }),
            );
          },
        );
        req.on('error', reject);
        req.setTimeout(30_000, () => req.destroy(new Error('hung for 30 s')));
        req.end();
      }),
    close: () => agent.destroy(),
  };
}

/** The error code of a JSON error body, `{ error: { code } }`; undefined for any other body. */
export function errorCodeOf(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}

/** `session=<value>` from a response's Set-Cookie headers ('' when it sets none). */
export function sessionCookieOf(setCookie: string[]): string {
  return (setCookie.find((c) => c.startsWith('session=')) ?? '').split(';')[0] ?? '';
}
