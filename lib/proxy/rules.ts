// The network domain rules (docs/policy.md): which host and port a sandboxed
// command may reach through its proxy, and which resolved addresses a name
// may lead to. Pure functions: the library validates with them, the proxy
// process (main.ts) decides with them.
import type netModule from 'net';

// `net` loads `stream` and most of Node's socket code: a few ms of every CLI
// start that has no domain rules at all. Loaded on first use instead.
let netCache: typeof netModule | undefined;
const net = (): typeof netModule => (netCache ??= require('net') as typeof netModule);

export interface DomainPattern {
  /** As the policy wrote it, for messages. */
  text: string;
  /** Lowercased name without a trailing dot (for a wildcard: what follows `*.`), or a normalized IP literal. */
  host: string;
  wildcard: boolean;
  ip: boolean;
  port: number | undefined;
}

export interface DomainRules {
  /** undefined: every name not denied is allowed (deniedDomains alone). */
  allowed: DomainPattern[] | undefined;
  denied: DomainPattern[];
}

export type Decision = { allowed: true; rule: string } | { allowed: false; rule: string };

const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

/** A pattern from the policy, or the reason it is not one. */
export function parsePattern(text: unknown): DomainPattern | string {
  if (typeof text !== 'string' || text === '') return 'expected a domain name, *.domain, or an IP address, optionally with :port';
  let rest = text.trim().toLowerCase();
  let port: number | undefined;
  const bracket = /^\[([0-9a-f:.]+)\](?::(\d+))?$/.exec(rest);
  if (bracket) {
    rest = bracket[1];
    if (bracket[2] !== undefined) port = Number(bracket[2]);
  } else if (!net().isIPv6(rest)) {
    const m = /^(.*):(\d+)$/.exec(rest);
    if (m) {
      rest = m[1];
      port = Number(m[2]);
    }
  }
  if (port !== undefined && !(Number.isInteger(port) && port >= 1 && port <= 65535)) return 'the port must be 1-65535';
  if (net().isIP(rest)) return { text, host: normalizeIp(rest), wildcard: false, ip: true, port };
  if (bracket) return 'not an IPv6 address';
  const wildcard = rest.startsWith('*.');
  const name = (wildcard ? rest.slice(2) : rest).replace(/\.$/, '');
  if (name.includes('*')) return 'a wildcard is only allowed as the first label (*.example.com)';
  const labels = name.split('.');
  if (name.length > 253 || !labels.every((l) => LABEL.test(l))) return 'not a domain name';
  if (wildcard && labels.length < 2) return 'a wildcard needs at least two labels after it (*.example.com, not *.com)';
  return { text, host: name, wildcard, ip: false, port };
}

/** The canonical text of an IP address: IPv4-mapped IPv6 as IPv4, IPv6 compressed and lowercased. */
export function normalizeIp(ip: string): string {
  if (net().isIPv4(ip))
    return ip
      .split('.')
      .map((o) => String(Number(o)))
      .join('.');
  const sa = new (net().SocketAddress)({ address: ip, family: 'ipv6' }).address.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(sa) ?? /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(sa);
  if (mapped && mapped.length === 2) return mapped[1];
  if (mapped) {
    const hi = parseInt(mapped[1], 16),
      lo = parseInt(mapped[2], 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return sa;
}

function matches(p: DomainPattern, host: string, port: number): boolean {
  if (p.port !== undefined && p.port !== port) return false;
  if (p.ip) return host === p.host;
  return p.wildcard ? host.endsWith(`.${p.host}`) : host === p.host;
}

const quoted = (p: DomainPattern) => JSON.stringify(p.text);

/**
 * Addresses a name may only lead to when that exact name or address is
 * listed: the host's own services, the local network and cloud metadata
 * (no DNS-rebinding detour). A wildcard never admits them.
 */
let special: netModule.BlockList | undefined;
function specialList(): netModule.BlockList {
  if (special) return special;
  const b = new (net().BlockList)();
  for (const [a, n] of [
    ['0.0.0.0', 8],
    ['10.0.0.0', 8],
    ['100.64.0.0', 10],
    ['127.0.0.0', 8],
    ['169.254.0.0', 16],
    ['172.16.0.0', 12],
    ['192.0.0.0', 24],
    ['192.168.0.0', 16],
    ['198.18.0.0', 15],
    ['224.0.0.0', 4],
    ['240.0.0.0', 4],
  ] as const)
    b.addSubnet(a, n, 'ipv4');
  for (const [a, n] of [
    ['::', 128],
    ['::1', 128],
    ['fc00::', 7],
    ['fe80::', 10],
    ['fec0::', 10],
    ['ff00::', 8],
    ['64:ff9b::', 96],
    ['64:ff9b:1::', 48],
    ['2002::', 16],
    ['::', 96],
  ] as const)
    b.addSubnet(a, n, 'ipv6');
  return (special = b);
}

export function isSpecialAddress(ip: string): boolean {
  const n = normalizeIp(ip);
  return specialList().check(n, net().isIPv4(n) ? 'ipv4' : 'ipv6');
}

/** The decision on a host and port before any name is resolved. */
export function decideHost(rules: DomainRules, rawHost: string, port: number): Decision {
  const isIp = net().isIP(rawHost.replace(/^\[(.*)\]$/, '$1')) !== 0;
  const host = isIp ? normalizeIp(rawHost.replace(/^\[(.*)\]$/, '$1')) : rawHost.toLowerCase().replace(/\.$/, '');
  if (!isIp && (host.length > 253 || !host.split('.').every((l) => LABEL.test(l))))
    return { allowed: false, rule: `${JSON.stringify(rawHost)} is not a host name` };
  if (!(Number.isInteger(port) && port >= 1 && port <= 65535)) return { allowed: false, rule: `port ${port} is not a valid port` };
  const denied = rules.denied.find((p) => matches(p, host, port));
  if (denied) return { allowed: false, rule: `deniedDomains ${quoted(denied)}` };
  if (isIp) {
    const listed = (rules.allowed ?? []).find((p) => p.ip && matches(p, host, port));
    return listed
      ? { allowed: true, rule: `allowedDomains ${quoted(listed)}` }
      : { allowed: false, rule: 'an IP address is reached only when allowedDomains lists it' };
  }
  if (!rules.allowed) return { allowed: true, rule: 'not in deniedDomains' };
  const exact = rules.allowed.find((p) => !p.wildcard && !p.ip && matches(p, host, port));
  const any = exact ?? rules.allowed.find((p) => !p.ip && matches(p, host, port));
  return any ? { allowed: true, rule: `allowedDomains ${quoted(any)}` } : { allowed: false, rule: 'not in allowedDomains' };
}

/**
 * Of the addresses a name resolved to, the first the rules let it reach, or
 * why none. A local, private or metadata address needs the exact name (not a
 * wildcard) or that address listed; a denied address is never reached.
 */
export function chooseAddress(
  rules: DomainRules,
  rawHost: string,
  port: number,
  addresses: string[],
): { address: string } | { refused: string } {
  const host = rawHost.toLowerCase().replace(/\.$/, '');
  const exactName = (rules.allowed ?? []).some((p) => !p.wildcard && !p.ip && matches(p, host, port));
  let why = `${JSON.stringify(rawHost)} did not resolve to any address`;
  for (const raw of addresses) {
    if (!net().isIP(raw)) continue;
    const a = normalizeIp(raw);
    const denied = rules.denied.find((p) => p.ip && matches(p, a, port));
    if (denied) {
      why = `resolves to ${a}, which deniedDomains ${quoted(denied)} refuses`;
      continue;
    }
    const listed = (rules.allowed ?? []).some((p) => p.ip && matches(p, a, port));
    if (isSpecialAddress(a) && !exactName && !listed) {
      why = `resolves to ${a}, a local, private or metadata address (list the exact name or address to reach it)`;
      continue;
    }
    return { address: a };
  }
  return { refused: why };
}
