// The proxy's name lookups, each answer reused for a moment: a client that
// opens many connections to one name (npm, pip, cargo fetching a registry)
// would otherwise pay a trip through libuv's thread pool per connection
// (about 0.3 ms on the benchmark's VM, benchmark/items/proxy.js). Only the
// addresses are reused: every connection is still decided by the rules and
// goes to the address that was checked (main.ts). Failures are not kept, so a
// name that did not resolve is asked again at once.

/** How long an answer is reused. */
export const LOOKUP_REUSE_MS = 1000;
/** Names kept at most; the oldest goes first. */
export const LOOKUP_CACHE_MAX = 256;

export type Resolver = (host: string, cb: (err: Error | null, addresses: string[]) => void) => void;

/** `resolve` asks the system; `now` is a clock in ms. The callback is never called before this returns. */
export function reusingLookups(resolve: Resolver, now: () => number): (host: string, cb: (addresses: string[]) => void) => void {
  const kept = new Map<string, { at: number; addresses: string[] }>();
  return (host, cb) => {
    const key = host.toLowerCase();
    const hit = kept.get(key);
    if (hit && now() - hit.at < LOOKUP_REUSE_MS) return void process.nextTick(cb, hit.addresses);
    resolve(host, (err, addresses) => {
      kept.delete(key); // a failure is not kept; an answer goes to the back
      if (!err) {
        if (kept.size >= LOOKUP_CACHE_MAX) kept.delete(kept.keys().next().value as string);
        kept.set(key, { at: now(), addresses });
      }
      cb(err ? [] : addresses);
    });
  };
}
