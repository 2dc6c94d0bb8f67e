import { describe, expect, test } from 'vitest';
import { AUTH_FAILURES_PER_MINUTE, createRequestGuard, guardHandler, useRequestGuard } from './hardening.ts';

const URL = 'http://localhost/graphql';
const request = (authorization?: string) => new Request(URL, { method: 'POST', headers: authorization ? { authorization } : {} });

describe('rate limits', () => {
  test("a respelled Bearer header draws from the same key's bucket", async () => {
    const guard = createRequestGuard({ perMinute: 3, maxBodyBytes: 1024, now: () => 0 });
    const spellings = ['Bearer k-1', 'bearer k-1', 'BEARER   k-1', 'Bearer k-1 '];
    const admitted = [];
    for (const header of spellings) admitted.push(!((await guard.admit(request(header), '198.51.100.1')) instanceof Response));
    expect(admitted).toEqual([true, true, true, false]);
  });

  test('refused credentials at an address do not lock out a key holder at the same address', async () => {
    const guard = createRequestGuard({ perMinute: 1000, maxBodyBytes: 1024, now: () => 0 });
    const address = '203.0.113.9';
    const good = request('Bearer good-key');
    guard.observe(good, new Response(null, { status: 200 }), address);
    for (let i = 0; i <= AUTH_FAILURES_PER_MINUTE; i += 1) {
      const guess = request(`Bearer guess-${i}`);
      const result = await guard.admit(guess, address);
      if (!(result instanceof Response)) guard.observe(result, new Response(null, { status: 401 }), address);
    }
    expect(await guard.admit(request('Bearer guess-next'), address)).toBeInstanceOf(Response);
    expect(await guard.admit(request('Bearer good-key'), address)).not.toBeInstanceOf(Response);
  });

  test('anonymous 401s (no credential sent) are not counted as refused credentials', async () => {
    const guard = createRequestGuard({ perMinute: 1000, maxBodyBytes: 1024, now: () => 0 });
    for (let i = 0; i < AUTH_FAILURES_PER_MINUTE * 2; i += 1) {
      const anonymous = request();
      guard.observe(anonymous, new Response(null, { status: 401 }), '192.0.2.4');
    }
    expect(await guard.admit(request('Bearer first-try'), '192.0.2.4')).not.toBeInstanceOf(Response);
  });

  test('one token per request when the HTTP handler passes a new request object on to GraphQL', async () => {
    const guard = createRequestGuard({ perMinute: 3, maxBodyBytes: 1024, now: () => 0 });
    const plugin = useRequestGuard(guard);
    // What Yoga does: a request object of its own, with the server context the HTTP handler passed.
    const inner = async (req: Request, context?: { clientAddress?: string; admitted?: boolean }) => {
      let ended: Response | null = null;
      await plugin.onRequest!({
        request: new Request(req.url, { method: req.method, headers: req.headers }),
        serverContext: context ?? {},
        setRequest: () => undefined,
        endResponse: (r: Response) => {
          ended = r;
        },
      } as never);
      return ended ?? new Response('{}', { status: 200 });
    };
    const http = guardHandler(inner, guard, false);
    const statuses = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await http(request('Bearer once'), { clientAddress: '192.0.2.5' })).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
  });
});
