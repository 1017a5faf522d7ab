// Why the command of a plan cannot be pid 1 (bubblewrap's --as-pid-1), read
// from the plan itself so --sbx-dry-run says what this sandbox needs init
// for. The command is pid 1 only in a plan without a supervise step, and every
// plan with namespaces has one on this kernel (docs/bwrap.md, --as-pid-1).
import type { Plan } from '../plan';

/** What init enforces for the command in this plan, one sentence each (empty: no supervisor). */
export function initDuties(plan: Plan): string[] {
  const sup = plan.steps.find((s) => s.op === 'supervise');
  if (!sup) return [];
  const count = (key: string) => sup.args.filter((a) => a.startsWith(`${key}=`)).length;
  const out = [
    'the unix-socket rule (every sandbox with namespaces): init performs each connect() to a pathname socket, refusing one the sandbox did not bind in',
  ];
  if (count('meta-deny')) out.push('metadata checks in the shared mount of the writable roots (chmod, chown, utimes outside the roots)');
  if (count('protect')) out.push(`protected names that do not exist yet cannot be made (${count('protect')})`);
  if (count('new-name')) out.push('no new repository (.git, HEAD) in a writable area');
  if (count('protect-dir')) out.push(`directories leading to protected paths cannot be renamed (${count('protect-dir')})`);
  if (count('git-control')) out.push("git control: what makes git run code in the repositories' git directories");
  return out;
}
