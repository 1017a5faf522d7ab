// The proxy's reuse of name lookups (lib/proxy/lookups.ts), with a clock and
// a resolver of the test's own: what is asked of the system, and when.
import { describe, expect, it } from 'vitest';
import { LOOKUP_CACHE_MAX, LOOKUP_REUSE_MS, reusingLookups, Resolver } from '../lib/proxy/lookups';

function setup(answers: Record<string, string[] | Error>) {
  let clock = 0;
  const asked: string[] = [];
  const resolve: Resolver = (host, cb) => {
    asked.push(host);
    const a = answers[host.toLowerCase()] ?? new Error('ENOTFOUND');
    setImmediate(() => (a instanceof Error ? cb(a, []) : cb(null, [...a])));
  };
  const lookup = reusingLookups(resolve, () => clock);
  const get = (host: string) => new Promise<string[]>((res) => lookup(host, res));
  return { asked, get, lookup, tick: (ms: number) => (clock += ms), answers };
}

describe('reused lookups', () => {
  it('an answer is reused within the window, case-blind, and asked again after it', async () => {
    const t = setup({ 'a.test': ['192.0.2.1'] });
    expect(await t.get('a.test')).toEqual(['192.0.2.1']);
    t.tick(LOOKUP_REUSE_MS - 1);
    t.answers['a.test'] = ['192.0.2.2'];
    expect(await t.get('A.test')).toEqual(['192.0.2.1']);
    t.tick(1);
    expect(await t.get('a.test')).toEqual(['192.0.2.2']);
    expect(t.asked).toEqual(['a.test', 'a.test']);
  });

  it('a failure is not kept: the next connection asks again', async () => {
    const t = setup({});
    expect(await t.get('gone.test')).toEqual([]);
    t.answers['gone.test'] = ['192.0.2.3'];
    expect(await t.get('gone.test')).toEqual(['192.0.2.3']);
    expect(t.asked).toEqual(['gone.test', 'gone.test']);
  });

  it('keeps at most LOOKUP_CACHE_MAX names, dropping the oldest', async () => {
    const names = Array.from({ length: LOOKUP_CACHE_MAX + 1 }, (_, i) => `n${i}.test`);
    const t = setup(Object.fromEntries(names.map((n) => [n, ['192.0.2.9']])));
    for (const n of names) await t.get(n);
    await t.get(names[1]);
    await t.get(names[0]);
    expect(t.asked.slice(names.length)).toEqual([names[0]]);
  });

  it('answers a reused lookup only after the call returns, as the system lookup does', async () => {
    const t = setup({ 'a.test': ['192.0.2.1'] });
    await t.get('a.test');
    let answered = false;
    const later = new Promise<void>((res) =>
      t.lookup('a.test', () => {
        answered = true;
        res();
      }),
    );
    expect(answered).toBe(false);
    await later;
    expect(t.asked).toEqual(['a.test']);
  });
});
