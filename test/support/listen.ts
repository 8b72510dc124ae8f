// An HTTP server for an app on a free local port, with keep-alive sockets kept open as long as load generators
// hold them (chaos and soak tests).
import type { Server } from 'node:http';
import type { Express } from 'express';

export async function listenLocally(app: Express): Promise<{ server: Server; port: number }> {
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
    s.keepAliveTimeout = 120_000; // idle keep-alive sockets are not closed under the client's feet
  });
  const address = server.address();
  return { server, port: typeof address === 'object' && address !== null ? address.port : 0 };
}
