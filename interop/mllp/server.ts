import { createServer, type AddressInfo, type Socket } from 'node:net';
import { frameMllp, MllpDecoder } from './framing.ts';

export interface MllpConnectionInfo {
  remoteAddress: string | null;
  remotePort: number | null;
}

/** Turns one message into its reply (the ACK). Throwing sends no reply and closes the connection. */
export type MllpHandle = (message: string, connection: MllpConnectionInfo) => Promise<string>;

export interface MllpServerOptions {
  /** 0 picks a free port (tests). */
  port: number;
  /** Default 127.0.0.1; listen on all interfaces only on purpose. */
  host?: string;
  handle: MllpHandle;
  /** Largest accepted message; a larger frame closes the connection without an ACK. Default 1 MiB. */
  maxMessageBytes?: number;
  /** Character encoding of the messages. Default utf8. */
  encoding?: BufferEncoding;
  /** Close connections idle this long (ms); 0 keeps them open. Default 0. */
  idleTimeoutMs?: number;
  maxConnections?: number;
  /** How long `close()` waits for in-flight messages before cutting connections. Default 10 s. */
  shutdownGraceMs?: number;
  /** Connection-level problems (oversized frame, handler failure, socket error). Log codes only: no PHI. */
  onError?: (error: unknown, connection: MllpConnectionInfo) => void;
}

export interface MllpServer {
  host: string;
  port: number;
  /** Open connections. */
  connections(): number;
  /** Stops accepting, lets in-flight messages finish and their ACKs go out, then closes every connection. */
  close(): Promise<void>;
}

/** Received frames a connection may queue before reading pauses (back-pressure on a pipelining sender). */
const QUEUE_HIGH_WATER = 32;

/**
 * An MLLP listener. Each connection handles its messages strictly in order, one at a time (ADT order
 * matters: an A08 must not overtake the A04 it updates), and answers each with its framed reply.
 */
export async function startMllpServer(opts: MllpServerOptions): Promise<MllpServer> {
  const host = opts.host ?? '127.0.0.1';
  const sockets = new Map<Socket, { closeWhenIdle: () => void; closed: Promise<void> }>();
  const server = createServer((socket) => {
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    sockets.set(socket, { ...serveConnection(socket, opts), closed });
    void closed.then(() => sockets.delete(socket));
  });
  if (opts.maxConnections !== undefined) server.maxConnections = opts.maxConnections;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  let closing: Promise<void> | null = null;
  return {
    host,
    port,
    connections: () => sockets.size,
    close() {
      closing ??= shutdown();
      return closing;
    },
  };

  async function shutdown(): Promise<void> {
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const connection of sockets.values()) connection.closeWhenIdle();
    const timer = setTimeout(() => {
      for (const socket of sockets.keys()) socket.destroy();
    }, opts.shutdownGraceMs ?? 10_000);
    await Promise.all([stopped, ...[...sockets.values()].map((c) => c.closed)]);
    clearTimeout(timer);
  }
}

function serveConnection(socket: Socket, opts: MllpServerOptions): { closeWhenIdle: () => void } {
  const info: MllpConnectionInfo = { remoteAddress: socket.remoteAddress ?? null, remotePort: socket.remotePort ?? null };
  const encoding = opts.encoding ?? 'utf8';
  const decoder = new MllpDecoder(opts.maxMessageBytes ?? 1024 * 1024);
  const queue: Buffer[] = [];
  // ACKs are small writes; with Nagle on, a pipelining sender waits on delayed TCP acknowledgements.
  socket.setNoDelay(true);
  let busy = false;
  let closing = false;

  const fail = (error: unknown) => {
    opts.onError?.(error, info);
    socket.destroy();
  };
  const endIfDone = () => {
    if (closing && !busy && queue.length === 0 && !socket.destroyed) socket.end();
  };

  socket.on('data', (chunk: Buffer) => {
    try {
      queue.push(...decoder.push(chunk));
    } catch (error) {
      fail(error);
      return;
    }
    if (queue.length >= QUEUE_HIGH_WATER) socket.pause();
    void drain();
  });
  socket.on('error', (error) => opts.onError?.(error, info));
  if (opts.idleTimeoutMs) {
    socket.setTimeout(opts.idleTimeoutMs, () => {
      if (!busy && queue.length === 0) socket.end();
    });
  }

  async function drain(): Promise<void> {
    if (busy) return;
    busy = true;
    while (queue.length > 0 && !socket.destroyed) {
      const frame = queue.shift() as Buffer;
      let reply: string;
      try {
        reply = await opts.handle(frame.toString(encoding), info);
      } catch (error) {
        // No ACK: the sender still holds the message and will resend it.
        queue.length = 0;
        fail(error);
        break;
      }
      if (!socket.destroyed) socket.write(frameMllp(reply, encoding));
      if (queue.length < QUEUE_HIGH_WATER / 2 && socket.isPaused() && !closing) socket.resume();
    }
    busy = false;
    endIfDone();
  }

  return {
    closeWhenIdle() {
      closing = true;
      // Frames already received are still answered; nothing new is read.
      socket.pause();
      endIfDone();
    },
  };
}
