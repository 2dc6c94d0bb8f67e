import { createServer, type AddressInfo, type Socket } from 'node:net';
import { frameMllp, MllpDecoder, MllpFrameTooLargeError } from './framing.ts';

export interface MllpConnectionInfo {
  remoteAddress: string | null;
  remotePort: number | null;
}

/**
 * Turns one message into its reply (the ACK); null sends none (an enhanced-mode sender that asked for no
 * acknowledgement). Throwing sends no reply and closes the connection.
 */
export type MllpHandle = (message: string, connection: MllpConnectionInfo) => Promise<string | null>;

export interface MllpServerOptions {
  /** 0 picks a free port (tests). */
  port: number;
  /** Default 127.0.0.1; listen on all interfaces only on purpose. */
  host?: string;
  handle: MllpHandle;
  /** Largest accepted message; a larger frame is answered by `tooLarge` and the connection closed. Default 1 MiB. */
  maxMessageBytes?: number;
  /**
   * The reply to a frame over `maxMessageBytes`, from the frame's first bytes (its MSH), e.g. an AR so the
   * sender stops resending it; null or absent closes the connection without a reply.
   */
  tooLarge?: (head: string) => string | null;
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
  let refused = false;
  /** Answers an oversized frame (after the replies already due) and closes: nothing more is read. */
  const refuseOversized = (error: MllpFrameTooLargeError) => {
    opts.onError?.(error, info);
    refused = true;
    socket.pause();
    const reply = opts.tooLarge?.(error.head.toString(encoding)) ?? null;
    const finish = () => {
      if (socket.destroyed) return;
      if (reply === null) socket.destroy();
      else socket.end(frameMllp(reply, encoding));
    };
    if (busy || queue.length > 0) pendingClose = finish;
    else finish();
  };
  let pendingClose: (() => void) | null = null;
  const endIfDone = () => {
    if (closing && !busy && queue.length === 0 && !socket.destroyed) socket.end();
  };

  socket.on('data', (chunk: Buffer) => {
    if (refused) return;
    try {
      queue.push(...decoder.push(chunk));
    } catch (error) {
      if (error instanceof MllpFrameTooLargeError) refuseOversized(error);
      else fail(error);
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
      let reply: string | null;
      try {
        reply = await opts.handle(frame.toString(encoding), info);
      } catch (error) {
        // No ACK: the sender still holds the message and will resend it.
        queue.length = 0;
        fail(error);
        break;
      }
      if (reply !== null && !socket.destroyed) socket.write(frameMllp(reply, encoding));
      if (queue.length < QUEUE_HIGH_WATER / 2 && socket.isPaused() && !closing && !refused) socket.resume();
    }
    busy = false;
    if (pendingClose) pendingClose();
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
