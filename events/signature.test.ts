import { Webhook } from 'standardwebhooks';
import { describe, expect, test } from 'vitest';
import { newWebhookSecret, signatureHeaders } from './webhook-delivery.ts';

describe('Standard Webhooks signatures', () => {
  test.each([
    ['an event envelope', '{"type":"RECORD_LINKED","data":{"id":"x"}}'],
    ['an empty body', ''],
    ['non-ASCII text', '{"note":"Zoë – ✓"}'],
  ])('signs %s exactly as the reference library does, and the published secret verifies it', (_name, body) => {
    const secret = newWebhookSecret();
    // Now: the reference verifier refuses timestamps more than five minutes away.
    const at = new Date();
    const headers = signatureHeaders(secret, 'msg_1', at, body);
    expect(headers).toEqual({
      'webhook-id': 'msg_1',
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': new Webhook(secret).sign('msg_1', at, body),
    });
    expect(() => new Webhook(secret).verify(body, headers, { jsonParse: false })).not.toThrow();
  });

  test('a signature does not verify under another secret or for another body', () => {
    const secret = newWebhookSecret();
    const headers = signatureHeaders(secret, 'msg_2', new Date(), '{"a":1}');
    expect(() => new Webhook(newWebhookSecret()).verify('{"a":1}', headers)).toThrow('No matching signature found');
    expect(() => new Webhook(secret).verify('{"a":2}', headers)).toThrow('No matching signature found');
  });
});
