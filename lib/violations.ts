// What a sandbox refused, gathered from its event records (lib/events.ts):
// each distinct refusal once, with how often it was tried. One place for the
// rules, so spawn()'s child and spawnSync's result report the same list.
import type { NetworkEvent, SandboxEvent, Violation } from './events';
import { MAX_DISTINCT_VIOLATIONS } from './gen/events';

export class ViolationLog {
  readonly violations: Violation[] = [];
  dropped = 0;
  private readonly index = new Map<string, Violation>();

  /**
   * Takes one decoded event: the violation that is new (to be announced), or
   * the allowed connection; undefined when it only updated a count.
   */
  take(ev: SandboxEvent): { violation: Violation } | { network: NetworkEvent } | undefined {
    if (ev.type === 'violation') {
      // Init sends each distinct refusal once as it happens, and its final count at the end.
      const key = `${ev.violation.op}\0${ev.violation.path}`;
      const known = this.index.get(key);
      if (known) {
        known.count = ev.violation.count;
        return undefined;
      }
      this.index.set(key, ev.violation);
      this.violations.push(ev.violation);
      return { violation: ev.violation };
    }
    if (ev.type === 'network') {
      if (ev.allowed) return { network: ev.event };
      // A refused connection is a violation like init's: once per host and port, with its count.
      const key = `connect\0${ev.event.path}`;
      const known = this.index.get(key);
      if (known) known.count = ev.event.count;
      else if (this.violations.length < MAX_DISTINCT_VIOLATIONS) {
        const v = { ...ev.event, errno: 'EACCES' };
        this.index.set(key, v);
        this.violations.push(v);
        return { violation: v };
      } else this.dropped++;
      return undefined;
    }
    if (ev.type === 'dropped') this.dropped += ev.count;
    return undefined;
  }
}
