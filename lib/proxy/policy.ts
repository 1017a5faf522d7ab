// The `network` policy key's domain form ({ allowedDomains, deniedDomains }),
// validated into the lists the proxy process gets (rules.ts decides with them).
import { parsePattern } from './rules';

export interface NetworkDomains {
  /** Names the command may reach ('example.com', '*.example.com' for its subdomains, an IP address), each optionally ':port'. Absent: every name not denied. */
  allowedDomains?: string[];
  /** Names refused even when allowedDomains would admit them (the same forms); they always win. */
  deniedDomains?: string[];
}

export interface ResolvedDomains {
  /** undefined: everything not denied is allowed. */
  allowed: string[] | undefined;
  denied: string[];
}

export type DomainError = { key: string; value: unknown; reason: string };

/** The domain lists, or the first problem (key, value, why). */
export function resolveDomains(v: Record<string, unknown>): ResolvedDomains | DomainError {
  for (const k of Object.keys(v)) {
    if (k !== 'allowedDomains' && k !== 'deniedDomains')
      return { key: `network.${k}`, value: v[k], reason: 'unknown key (known: allowedDomains, deniedDomains)' };
  }
  const lists: Record<string, string[] | undefined> = {};
  for (const key of ['allowedDomains', 'deniedDomains'] as const) {
    const list = v[key];
    if (list === undefined) continue;
    if (!Array.isArray(list)) return { key: `network.${key}`, value: list, reason: 'expected an array of domains' };
    for (let i = 0; i < list.length; i++) {
      const p = parsePattern(list[i]);
      if (typeof p === 'string') return { key: `network.${key}[${i}]`, value: list[i], reason: p };
    }
    lists[key] = list as string[];
  }
  if (lists.allowedDomains === undefined && lists.deniedDomains === undefined) {
    return { key: 'network', value: v, reason: 'give allowedDomains and/or deniedDomains (or true / false)' };
  }
  return { allowed: lists.allowedDomains, denied: lists.deniedDomains ?? [] };
}
