// The steps every plan with namespaces begins with (after a proxy's fork,
// when there is one): the namespaces, the id maps, and the loopback of a
// network namespace. buildPlan writes them; an early head start
// (lib/head-start.ts) predicts them from the same function before the plan
// exists, and compares its prediction with the plan once it does.
import type { Step } from './plan';
import { CLONE } from './uapi';

export function namespaceSteps(network: boolean, uid: number, gid: number): Step[] {
  let flags = CLONE.NEWUSER | CLONE.NEWNS | CLONE.NEWIPC | CLONE.NEWUTS | CLONE.NEWPID;
  if (!network) flags |= CLONE.NEWNET;
  return [
    { op: 'unshare', args: [String(flags)] },
    { op: 'map_ids', args: [uid, uid, gid, gid].map(String) },
    ...(network ? [] : [{ op: 'loopback_up' as const, args: [] }]),
  ];
}
