// A case's golden record: the policy-level decisions and the layout, one line
// per rule, guard and action, so a change reads as a small diff.
import { computeLayout, Action } from '../../lib/layout';
import { supervision } from '../../lib/plan';
import { resolvePolicy } from '../../lib/policy';
import type { FsView } from '../../lib/fsview';
import type { GoldenCase } from './cases';

function action(a: Action): string {
  switch (a.kind) {
    case 'group':
      return `group ${a.path}`;
    case 'readonly':
      return `readonly ${a.path} (${a.why})`;
    case 'reveal':
      return `reveal ${a.writable ? 'rw' : 'ro'} ${a.path}`;
    case 'mask':
      return `mask ${a.type} ${a.path}${a.inner.length ? ` inner ${a.inner.map((i) => `${i.dir ? 'd' : 'f'}:${i.rel}`).join(' ')}` : ''}`;
  }
}

export function render(c: GoldenCase, view: FsView) {
  const policy = resolvePolicy(c.policy, c.cwd, c.env, view);
  const layout = computeLayout(policy, view.mounts(), { separateRoots: c.separateRoots, view });
  return {
    about: c.about,
    policy: {
      mode: policy.mode,
      tmp: policy.tmp,
      network: policy.network,
      home: policy.home ?? null,
      rules: policy.rules.map((r) => `${r.access} ${r.path} (${r.from})`),
      missingRoots: policy.missingRoots,
      guards: policy.guards.map((g) => `${g.path} (${g.why})`),
    },
    layout: {
      writable: layout.writable,
      groups: layout.groups.map((g) => ({
        ancestor: g.ancestor,
        roots: g.roots,
        chain: g.chain.map((d) => `${d.dir}: keep ${d.keep.join(' ')}`),
      })),
      actions: layout.actions.map(action),
      missingProtected: layout.missingProtected,
      protectedChain: layout.protectedChain,
      newNames: layout.newNames,
      newAllow: layout.newAllow,
      // uv's markers: 64 bucket versions per cache, one line per cache.
      ...(layout.repositoryScan
        ? {
            repositoryScan: `budget ${layout.repositoryScan.budget}, found ${layout.repositoryScan.found}${layout.repositoryScan.notScanned.map((n) => `; not scanned: ${n.root} (${n.why})`).join('')}`,
          }
        : {}),
      newFileAllow: [...new Set(layout.newFileAllow.map((p) => p.replace(/\/sdists-v\d+\/\.git$/, '/sdists-v{0..63}/.git')))],
    },
    // What init is asked to check for the command (with namespaces).
    supervision: supervision(layout, true),
  };
}
