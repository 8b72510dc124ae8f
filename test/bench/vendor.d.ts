// Minimal typings for the two benchmark-only packages that ship none (only what the harness uses).

declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  interface AutocannonRequest {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
  }

  interface AutocannonOptions {
    url: string;
    connections?: number;
    duration?: number;
    pipelining?: number;
    timeout?: number;
    headers?: Record<string, string>;
    requests?: {
      method?: string;
      path?: string;
      headers?: Record<string, string>;
      setupRequest?: (request: AutocannonRequest, context: Record<string, unknown>) => AutocannonRequest;
      onResponse?: (
        status: number,
        body: string,
        context: Record<string, unknown>,
        headers: Record<string, string | string[]>,
      ) => void;
    }[];
  }

  interface AutocannonInstance extends EventEmitter {
    stop(): void;
  }

  function autocannon(
    options: AutocannonOptions,
    callback: (error: Error | null, result: unknown) => void,
  ): AutocannonInstance;
  export default autocannon;
}

declare module 'express-session' {
  import type { RequestHandler } from 'express';

  interface SessionOptions {
    secret: string;
    store?: unknown;
    resave?: boolean;
    saveUninitialized?: boolean;
    name?: string;
    cookie?: { maxAge?: number; secure?: boolean; httpOnly?: boolean; sameSite?: 'lax' | 'strict' | 'none' };
  }

  function session(options: SessionOptions): RequestHandler;
  export default session;
}
