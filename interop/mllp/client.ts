import { connect, type Socket } from 'node:net';
import { frameMllp, MllpDecoder } from './framing.ts';

export interface MllpClientOptions {
  /** How long to wait for each reply (ms). Default 30 s. */
  timeoutMs?: number;
  encoding?: BufferEncoding;
  maxMessageBytes?: number;
}

export interface MllpClient {
  /** Sends one message and resolves with its reply; several sends may be in flight (replies come in order). */
  send(message: string): Promise<string>;
  close(): Promise<void>;
}

interface Pending {
  resolve: (reply: string) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/** Opens one MLLP connection for many messages. */
export async function connectMllp(host: string, port: number, opts: MllpClientOptions = {}): Promise<MllpClient> {
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = connect({ host, port }, () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
  socket.setNoDelay(true);
  const encoding = opts.encoding ?? 'utf8';
  const decoder = new MllpDecoder(opts.maxMessageBytes ?? 16 * 1024 * 1024);
  const pending: Pending[] = [];

  const failAll = (error: Error) => {
    for (const p of pending.splice(0)) {
      clearTimeout(p.timer);
      p.reject(error);
    }
  };
  socket.on('data', (chunk: Buffer) => {
    let frames: Buffer[];
    try {
      frames = decoder.push(chunk);
    } catch (error) {
      failAll(error as Error);
      socket.destroy();
      return;
    }
    for (const frame of frames) {
      const next = pending.shift();
      if (!next) continue;
      clearTimeout(next.timer);
      next.resolve(frame.toString(encoding));
    }
  });
  socket.on('error', (error) => failAll(error));
  socket.on('close', () => failAll(new Error('MLLP connection closed before the reply arrived')));

  return {
    send(message) {
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => {
          failAll(new Error('timed out waiting for the MLLP reply'));
          socket.destroy();
        }, opts.timeoutMs ?? 30_000);
        pending.push({ resolve, reject, timer });
        socket.write(frameMllp(message, encoding));
      });
    },
    close() {
      return new Promise<void>((resolve) => {
        if (socket.destroyed) return resolve();
        socket.once('close', () => resolve());
        socket.end();
      });
    },
  };
}

/** Sends one message over a fresh connection and returns the reply (the ACK). */
export async function sendMllp(host: string, port: number, message: string, opts: MllpClientOptions = {}): Promise<string> {
  const client = await connectMllp(host, port, opts);
  try {
    return await client.send(message);
  } finally {
    await client.close();
  }
}
