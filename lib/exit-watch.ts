// The one exit dispatcher of this environment (worker threads load their own
// copy): the addon reports a helper's exec, events and exit by id.
import { native } from './native';

/** What the exit dispatcher calls: a SandboxedProcess, or a discarded pooled sandbox being reaped. */
export interface Watched {
  _onExec(report: Buffer | null): void;
  _onEvent(record: Buffer): void;
  _onExit(code: number, signal: number): void;
}

// One exit dispatcher per environment (worker threads load their own copy).
const children = new Map<number, Watched>();
let nextId = 1;
let handlerInstalled = false;
/**
 * `earlyExit`: the monitor's `exited` record (protocol/events.json) may stand
 * for the exit, before the namespaces' teardown. Only where the monitor and
 * init are the events pipe's only writers: the network proxy also writes it,
 * and a proxy a parser bug took over must not be able to end the caller's
 * wait while the command runs on.
 */
export function watchExit(child: Watched, pidfd: number, errorFd: number, eventsFd: number, keepAlive = true, earlyExit = false): number {
  const { binding } = native();
  if (!handlerInstalled) {
    binding.setExitHandler((id, event, a, signal) => {
      // Node-API would turn a listener's exception into a DEP0168 warning and
      // carry on; rethrown from a tick it is uncaught, as with child_process.
      try {
        const child = children.get(id);
        if (event === 'exec') child?._onExec(a as Buffer | null);
        else if (event === 'event') child?._onEvent(a as Buffer);
        else child?._onExit(a as number, signal!);
      } catch (e) {
        process.nextTick(() => {
          throw e;
        });
      }
    });
    handlerInstalled = true;
  }
  const id = nextId++;
  children.set(id, child);
  binding.watch(pidfd, errorFd, eventsFd, id, earlyExit);
  if (keepAlive) binding.ref();
  return id;
}

/** Stops dispatching to `id` (its helper was reaped). */
export function unwatch(id: number): void {
  children.delete(id);
}
