import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, test } from 'vitest';
import { createHl7Handler } from '../hl7/handler.ts';
import { FakePort, type TestContext } from '../testing/fake-port.ts';
import { adtMerge, adtUpsert, ZEPHYRINE } from '../testing/hl7-samples.ts';
import { connectMllp, sendMllp } from './client.ts';
import { frameMllp, MllpDecoder } from './framing.ts';
import { startMllpServer, type MllpHandle, type MllpServer } from './server.ts';

const servers: MllpServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(
  handle: MllpHandle,
  extra: { maxMessageBytes?: number; shutdownGraceMs?: number; onError?: (e: unknown) => void } = {},
) {
  const server = await startMllpServer({ port: 0, host: '127.0.0.1', handle, ...extra });
  servers.push(server);
  return server;
}

function hl7Server() {
  const port = new FakePort({ 'urn:ehr': 'EHR', 'urn:lab': 'LAB' });
  const deadLetters: string[] = [];
  const ctx: TestContext = { actor: 'mllp' };
  const hl7 = createHl7Handler(port, { deadLetter: (raw) => void deadLetters.push(raw) });
  return { port, deadLetters, handle: async (message: string) => (await hl7(message, ctx)).ack };
}

const msaCode = (ack: string) =>
  ack
    .split('\r')
    .find((s) => s.startsWith('MSA|'))
    ?.split('|')[1];

/** A raw socket that collects framed replies, for writing bytes exactly as a test wants them. */
async function rawConnection(port: number) {
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
  const decoder = new MllpDecoder(1 << 20);
  const replies: string[] = [];
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('data', (chunk: Buffer) => replies.push(...decoder.push(chunk).map((f) => f.toString('utf8'))));
  socket.on('error', () => undefined);
  const waitForReplies = async (n: number) => {
    for (let i = 0; i < 200 && replies.length < n; i++) await sleep(10);
    return replies;
  };
  return { socket, replies, closed, waitForReplies };
}

describe('MLLP server and client', () => {
  test('round-trips an ADT A04 to an AA ACK and stores the patient through the port', async () => {
    const { port, handle } = hl7Server();
    const server = await start(handle);
    const ack = await sendMllp('127.0.0.1', server.port, adtUpsert('A04', ZEPHYRINE, 'C-RT'));
    expect(msaCode(ack)).toBe('AA');
    expect(ack).toContain('|C-RT');
    expect(port.identityOf({ source: 'EHR', localId: 'MRN-1' })).toBeDefined();
  });

  test('handles many messages on one connection in order', async () => {
    const { port, handle } = hl7Server();
    const server = await start(handle);
    const client = await connectMllp('127.0.0.1', server.port);
    const acks = await Promise.all([
      client.send(adtUpsert('A04', ZEPHYRINE, 'C-1')),
      client.send(adtUpsert('A04', { ...ZEPHYRINE, mrn: 'MRN-2', birth: '19900101' }, 'C-2')),
      client.send(adtMerge(ZEPHYRINE, { mrn: 'MRN-2', authority: 'EHR' }, 'C-3')),
    ]);
    await client.close();
    expect(acks.map((a) => [msaCode(a), a.split('\r')[1]?.split('|')[2]])).toEqual([
      ['AA', 'C-1'],
      ['AA', 'C-2'],
      ['AA', 'C-3'],
    ]);
    expect(port.identityOf({ source: 'EHR', localId: 'MRN-2' })).toBe(port.identityOf({ source: 'EHR', localId: 'MRN-1' }));
  });

  test('reassembles a message whose frame arrives in several TCP writes', async () => {
    const seen: string[] = [];
    const server = await start(async (m) => {
      seen.push(m);
      return 'ACK';
    });
    const conn = await rawConnection(server.port);
    const frame = Buffer.concat([frameMllp('MSH|^~\\&|split'), frameMllp('MSH|^~\\&|second')]);
    for (const cut of [
      [0, 1],
      [1, 9],
      [9, frame.length - 20],
      [frame.length - 20, frame.length - 1],
      [frame.length - 1, frame.length],
    ]) {
      conn.socket.write(frame.subarray(cut[0], cut[1]));
      await sleep(5);
    }
    expect(await conn.waitForReplies(2)).toEqual(['ACK', 'ACK']);
    expect(seen).toEqual(['MSH|^~\\&|split', 'MSH|^~\\&|second']);
    conn.socket.end();
  });

  test('answers a malformed message with an error ACK and keeps it as a dead letter', async () => {
    const { handle, deadLetters, port } = hl7Server();
    const server = await start(handle);
    const ack = await sendMllp('127.0.0.1', server.port, 'PID|1||not an HL7 message');
    expect(msaCode(ack)).toBe('AR');
    expect(deadLetters).toEqual(['PID|1||not an HL7 message']);
    expect(port.writes()).toEqual([]);
  });

  test('closes the connection without an ACK when a frame exceeds the size limit', async () => {
    const errors: unknown[] = [];
    const seen: string[] = [];
    const server = await start(async (m) => (seen.push(m), 'ACK'), { maxMessageBytes: 64, onError: (e) => errors.push(e) });
    const conn = await rawConnection(server.port);
    conn.socket.write(frameMllp(`MSH|^~\\&|${'x'.repeat(100)}`));
    await conn.closed;
    expect(conn.replies).toEqual([]);
    expect(seen).toEqual([]);
    expect(errors.map((e) => (e as Error).name)).toContain('MllpFrameTooLargeError');
  });

  test('closes the connection without an ACK when the handler fails, so the sender resends', async () => {
    const server = await start(
      async () => {
        throw new Error('dead letter store unavailable');
      },
      { onError: () => undefined },
    );
    await expect(sendMllp('127.0.0.1', server.port, 'MSH|^~\\&|x', { timeoutMs: 2000 })).rejects.toThrow(/closed/);
  });

  test('finishes in-flight messages and sends their ACKs before shutting down', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const server = await start(async () => {
      await gate;
      return 'ACK-LATE';
    });
    const client = await connectMllp('127.0.0.1', server.port);
    const reply = client.send('MSH|^~\\&|slow');
    await sleep(20);
    const closed = server.close();
    release();
    expect(await reply).toBe('ACK-LATE');
    await closed;
    expect(server.connections()).toBe(0);
    await expect(sendMllp('127.0.0.1', server.port, 'MSH|^~\\&|late', { timeoutMs: 500 })).rejects.toThrow();
  });

  test('cuts connections that outlive the shutdown grace period', async () => {
    const server = await start(() => new Promise<string>(() => undefined), { shutdownGraceMs: 50 });
    const client = await connectMllp('127.0.0.1', server.port);
    const outcome = client.send('MSH|^~\\&|never').then(
      () => 'replied',
      (e: Error) => e.message,
    );
    await sleep(20);
    await server.close();
    expect(await outcome).toMatch(/closed/);
  });
});
