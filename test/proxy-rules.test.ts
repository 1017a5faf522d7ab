// The domain rules on their own (lib/proxy/rules.ts): what each pattern
// admits, and which resolved addresses a name may lead to. The proxy process
// decides with exactly these functions; test/proxy.test.ts checks them end
// to end through the real proxy.
import { describe, expect, it } from 'vitest';
import { chooseAddress, decideHost, DomainRules, isSpecialAddress, normalizeIp, parsePattern } from '../lib/proxy/rules';
import { prepare } from '../lib';

const rules = (allowed: string[] | undefined, denied: string[] = []): DomainRules => {
  const parse = (t: string) => {
    const p = parsePattern(t);
    if (typeof p === 'string') throw new Error(p);
    return p;
  };
  return { allowed: allowed?.map(parse), denied: denied.map(parse) };
};
const allowed = (r: DomainRules, host: string, port = 443) => decideHost(r, host, port).allowed;

describe('network domain rules', () => {
  it('exact names; *.x matches subdomains, not the apex; deniedDomains win', () => {
    const r = rules(['registry.npmjs.org', '*.github.com'], ['gist.github.com']);
    expect(allowed(r, 'registry.npmjs.org')).toBe(true);
    expect(allowed(r, 'REGISTRY.npmjs.org.')).toBe(true);
    expect(allowed(r, 'npmjs.org')).toBe(false);
    expect(allowed(r, 'evil-registry.npmjs.org')).toBe(false);
    expect(allowed(r, 'api.github.com')).toBe(true);
    expect(allowed(r, 'a.b.github.com')).toBe(true);
    expect(allowed(r, 'github.com')).toBe(false);
    expect(allowed(r, 'notgithub.com')).toBe(false);
    expect(decideHost(r, 'gist.github.com', 443)).toEqual({ allowed: false, rule: 'deniedDomains "gist.github.com"' });
    expect(decideHost(r, 'x.org', 443)).toEqual({ allowed: false, rule: 'not in allowedDomains' });
  });

  it('an optional :port limits the pattern to that port', () => {
    const r = rules(['example.com:443', '*.example.org'], ['bad.example.org:80']);
    expect(allowed(r, 'example.com', 443)).toBe(true);
    expect(allowed(r, 'example.com', 80)).toBe(false);
    expect(allowed(r, 'bad.example.org', 443)).toBe(true);
    expect(allowed(r, 'bad.example.org', 80)).toBe(false);
  });

  it('deniedDomains alone allows every other name, but no IP literal unless listed', () => {
    const r = rules(undefined, ['*.tracker.com']);
    expect(allowed(r, 'anything.org')).toBe(true);
    expect(allowed(r, 'x.tracker.com')).toBe(false);
    expect(allowed(r, '93.184.216.34')).toBe(false);
  });

  it('IP literals only when listed, in any spelling', () => {
    const r = rules(['127.0.0.1:8080', '[::1]', '93.184.216.34']);
    expect(allowed(r, '127.0.0.1', 8080)).toBe(true);
    expect(allowed(r, '127.0.0.1', 22)).toBe(false);
    expect(allowed(r, '::ffff:127.0.0.1', 8080)).toBe(true);
    expect(allowed(r, '[0:0:0:0:0:0:0:1]', 22)).toBe(true);
    expect(allowed(r, '93.184.216.34')).toBe(true);
    expect(allowed(r, '127.0.0.2', 8080)).toBe(false);
    expect(allowed(r, '0.0.0.0', 8080)).toBe(false);
    expect(allowed(rules(['*.example.com']), '10.0.0.1')).toBe(false);
  });

  it('local, private, link-local, multicast and metadata addresses need the exact name or address', () => {
    for (const a of [
      '127.0.0.1',
      '0.0.0.0',
      '::ffff:127.0.0.1',
      '::1',
      '::',
      '10.1.2.3',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '169.254.169.254',
      'fe80::1',
      'fc00::1',
      'fd00:ec2::254',
      '224.0.0.1',
      'ff02::1',
      '100.100.100.200',
      '::ffff:10.0.0.1',
    ]) {
      expect([a, isSpecialAddress(a)]).toEqual([a, true]);
    }
    for (const a of ['93.184.216.34', '172.32.0.1', '2606:4700::1111', '8.8.8.8']) expect([a, isSpecialAddress(a)]).toEqual([a, false]);
    const wild = rules(['*.corp.test', 'exact.corp.test']);
    expect(chooseAddress(wild, 'x.corp.test', 443, ['10.0.0.5'])).toEqual({
      refused: expect.stringMatching(/resolves to 10\.0\.0\.5, a local, private or metadata address/),
    });
    expect(chooseAddress(wild, 'exact.corp.test', 443, ['10.0.0.5'])).toEqual({ address: '10.0.0.5' });
    // The first address the rules admit, never a private one behind a public one.
    expect(chooseAddress(wild, 'x.corp.test', 443, ['127.0.0.1', '93.184.216.34'])).toEqual({ address: '93.184.216.34' });
    expect(chooseAddress(rules(['*.corp.test', '10.0.0.5']), 'x.corp.test', 443, ['10.0.0.5'])).toEqual({ address: '10.0.0.5' });
    expect(chooseAddress(rules(undefined, []), 'rebind.example', 443, ['::ffff:127.0.0.1'])).toEqual({
      refused: expect.stringMatching(/127\.0\.0\.1/),
    });
    expect(chooseAddress(rules(['a.test'], ['93.184.216.34']), 'a.test', 443, ['93.184.216.34'])).toEqual({
      refused: expect.stringMatching(/deniedDomains "93.184.216.34"/),
    });
    expect(chooseAddress(rules(['a.test']), 'a.test', 443, [])).toEqual({ refused: '"a.test" did not resolve to any address' });
  });

  it('normalizes addresses', () => {
    expect(normalizeIp('::FFFF:7f00:1')).toBe('127.0.0.1');
    expect(normalizeIp('0:0::1')).toBe('::1');
  });

  it('refuses bad patterns naming the value, and domain lists with --network-like contradictions', () => {
    for (const [bad, why] of [
      ['git*hub.com', /wildcard is only allowed as the first label/],
      ['*.com', /at least two labels/],
      ['a..b', /not a domain name/],
      ['x.com:0', /port must be 1-65535/],
      ['x.com:99999', /port must be 1-65535/],
      ['', /expected a domain name/],
      ['[1.2.3]', /not an IPv6 address/],
    ] as const) {
      expect(() => prepare('/bin/true', [], { sandbox: { network: { allowedDomains: ['ok.com', bad] } } })).toThrow(
        new RegExp(
          `network\\.allowedDomains\\[1\\] = ${JSON.stringify(JSON.stringify(bad))
            .slice(1, -1)
            .replace(/[.*[\]]/g, '\\$&')}: .*${why.source}`,
        ),
      );
    }
    expect(() => prepare('/bin/true', [], { sandbox: { network: { allowedDomains: 'x.com' } as any } })).toThrow(
      /network\.allowedDomains = "x.com": expected an array/,
    );
    expect(() => prepare('/bin/true', [], { sandbox: { network: { allowed: ['x.com'] } as any } })).toThrow(
      /network\.allowed = \["x.com"\]: unknown key/,
    );
    expect(() => prepare('/bin/true', [], { sandbox: { network: {} } })).toThrow(/network = \{\}: give allowedDomains/);
    expect(() => prepare('/bin/true', [], { sandbox: { mode: 'full', network: { allowedDomains: ['x.com'] } } })).toThrow(
      /mode 'full' shares the host's network/,
    );
  });
});

describe('a discovered config file', () => {
  it('may not give domain lists (they widen network: false)', async () => {
    const { loadDiscoveredConfig } = await import('../lib/config-trust');
    const fs = await import('fs');
    const os = await import('os');
    const path = await import('path');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sbx-proxy-cfg-'));
    try {
      const f = path.join(dir, 'sbx-native.json');
      fs.writeFileSync(f, JSON.stringify({ network: { allowedDomains: ['example.com'] } }));
      expect(() => loadDiscoveredConfig(f, dir, undefined)).toThrow(
        /network = \{"allowedDomains":\["example.com"\]\}: only false may be given\. A discovered config file may only narrow/,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
