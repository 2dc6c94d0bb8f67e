import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createHl7Handler } from '../hl7/handler.ts';
import { FakePort } from '../testing/fake-port.ts';
import { adtUpsert, ZEPHYRINE } from '../testing/hl7-samples.ts';
import { importHl7File, Hl7ImportError, textSplitter } from './file-import.ts';
import { frameMllp } from './framing.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hl7-import-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fileWith(name: string, content: string | Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

const a = adtUpsert('A04', ZEPHYRINE, 'C-1');
const b = adtUpsert('A08', { ...ZEPHYRINE, mrn: 'MRN-2', birth: '19900101' }, 'C-2');
const asLines = (message: string, eol: string) => message.split('\r').join(eol);

describe('importHl7File', () => {
  const echo = async (seen: string[], path: string) => {
    const summary = await importHl7File(path, async (m) => {
      seen.push(m);
      return 'MSH|^~\\&|MPI\rMSA|AA|x';
    });
    return summary;
  };

  test.each([
    { layout: 'blank-line separated LF text', content: `${asLines(a, '\n')}\n\n${asLines(b, '\n')}\n` },
    { layout: 'CRLF text with several blank lines', content: `\r\n${asLines(a, '\r\n')}\r\n\r\n\r\n${asLines(b, '\r\n')}` },
    { layout: 'back-to-back messages without blank lines', content: `${asLines(a, '\n')}\n${asLines(b, '\n')}` },
    { layout: 'CR-only segments', content: `${a}\r\r${b}\r` },
    { layout: 'a batch with FHS/BHS envelopes', content: `FHS|^~\\&\nBHS|^~\\&\n${asLines(a, '\n')}\n${asLines(b, '\n')}\nBTS|2\nFTS|1\n` },
    { layout: 'MLLP frames', content: Buffer.concat([frameMllp(a), Buffer.from('\n'), frameMllp(b)]) },
  ])('splits $layout into the same two messages', async ({ content }) => {
    const seen: string[] = [];
    const summary = await echo(seen, await fileWith(`f-${Math.random()}`, content));
    expect(seen).toEqual([a, b]);
    expect(summary).toEqual({ messages: 2, accepted: 2, errors: 0, rejected: 0 });
  });

  test('imports a large file in order through the HL7 handler and counts the ACK codes', async () => {
    const port = new FakePort({ 'urn:ehr': 'EHR' });
    const deadLetters: string[] = [];
    const hl7 = createHl7Handler(port, { deadLetter: (raw) => void deadLetters.push(raw) });
    const messages = Array.from({ length: 2000 }, (_, i) =>
      adtUpsert('A04', { ...ZEPHYRINE, mrn: `MRN-${i}`, family: `Fam${i}` }, `C-${i}`),
    );
    messages.splice(1000, 0, 'garbage line that is not HL7');
    const path = await fileWith('large.hl7', messages.map((m) => asLines(m, '\r\n')).join('\r\n\r\n'));
    const summary = await importHl7File(path, async (m) => (await hl7(m, { actor: 'import' })).ack);
    expect(summary).toEqual({ messages: 2001, accepted: 2000, errors: 0, rejected: 1 });
    expect(port.records.size).toBe(2000);
    expect(deadLetters).toEqual(['garbage line that is not HL7']);
  });

  test('stops at a message that can be neither processed nor kept, reporting how far it got', async () => {
    const path = await fileWith('stop.hl7', `${a}\r\r${b}\r`);
    let calls = 0;
    const error = await importHl7File(path, async () => {
      calls += 1;
      if (calls === 2) throw new Error('dead letter store unavailable');
      return 'MSA|AA|x';
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Hl7ImportError);
    expect(error).toMatchObject({ messageNumber: 2, summary: { messages: 1, accepted: 1 } });
  });
});

describe('textSplitter', () => {
  test('does not split a CRLF that falls across two chunks', () => {
    const splitter = textSplitter();
    const text = `${asLines(a, '\r\n')}\r\n`;
    const cut = text.indexOf('\r\n') + 1;
    const out = [...splitter.push(Buffer.from(text.slice(0, cut))), ...splitter.push(Buffer.from(text.slice(cut))), ...splitter.end()];
    expect(out).toEqual([a]);
  });
});
