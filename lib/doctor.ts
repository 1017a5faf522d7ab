// `sbx-native doctor [--json]`: what this host can enforce and how to fix
// what is missing. One screen to paste into a bug report.
import { kernelFeatures, parseRelease, supervisorFallbacks } from './features';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { chooseLevel, hostFacts, probeUserns } from './host';
import { native } from './native';
import { MountEntry, readMountInfo } from './mountinfo';

interface Check {
  name: string;
  ok: boolean | null; // null: informational
  detail: string;
  fix?: string;
}

function read(p: string): string | undefined {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
}

function container(): string {
  if (fs.existsSync('/.dockerenv')) return 'docker';
  if (fs.existsSync('/run/.containerenv')) return 'podman';
  if (process.env.KUBERNETES_SERVICE_HOST) return 'kubernetes';
  const cg = read('/proc/1/cgroup') ?? '';
  if (/docker|containerd/.test(cg)) return 'docker/containerd';
  if (/kubepods/.test(cg)) return 'kubernetes';
  if (/libpod/.test(cg)) return 'podman';
  return 'none detected';
}

function appArmorProfile(helper: string): string {
  const tmpl = read(path.join(__dirname, '..', 'apparmor', 'sbx-native-helper.profile')) ?? '';
  return tmpl
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n')
    .replaceAll('HELPER_PATH', helper)
    .trim();
}

export function collect(): { checks: Check[]; level: string; guarantees: string[]; missing: string[]; fixes: string[] } {
  const { binding, helper } = native();
  // SBX_NATIVE_TEST_HOST (test only) stands in for the kernel, as in exec.
  const test = process.env.SBX_NATIVE_TEST_HOST ? hostFacts(false) : undefined;
  const real = binding.landlockAbi();
  const ll = test ? { abi: test.landlockAbi, errata: test.landlockErrata } : real;
  const userns = test?.userns ?? probeUserns();
  const release = os.release();
  const restrict = process.env.SBX_NATIVE_TEST_APPARMOR ?? read('/proc/sys/kernel/apparmor_restrict_unprivileged_userns')?.trim();
  const maxUserns = read('/proc/sys/user/max_user_namespaces')?.trim();
  const status = read('/proc/self/status') ?? '';
  let mounts: MountEntry[] = [];
  try {
    mounts = readMountInfo();
  } catch {
    /* no /proc */
  }
  const procMasks = mounts.map((m) => m.mountPoint).filter((m) => m.startsWith('/proc/') && !m.startsWith('/proc/sys/fs/binfmt_misc'));
  const cgroup2 = mounts.some((m) => m.mountPoint === '/sys/fs/cgroup' && m.fsType === 'cgroup2');
  const wsl = /microsoft/i.test(release) ? (/microsoft-standard/i.test(release) ? 'WSL2' : 'WSL1') : 'no';
  const [major, minor] = release.split('.').map(Number);
  const atLeast = (a: number, b: number) => major > a || (major === a && minor >= b);
  const bwrap = ['/usr/bin/bwrap', '/usr/local/bin/bwrap'].find((p) => fs.existsSync(p));
  const fallbacks = supervisorFallbacks(kernelFeatures(test?.kernel ?? parseRelease(release)));
  const checks: Check[] = [
    { name: 'kernel', ok: null, detail: `${release} (${process.arch}), Node ${process.version}` },
    {
      name: 'Landlock',
      ok: ll.abi >= 2,
      detail: ll.abi > 0 ? `ABI ${ll.abi}, errata 0x${ll.errata.toString(16)}` : `unavailable (${-ll.abi})`,
      fix: ll.abi >= 2 ? undefined : 'boot a kernel >= 5.19 with Landlock in the lsm= list (e.g. lsm=landlock,lockdown,yama,apparmor,bpf)',
    },
    {
      name: 'user namespaces',
      ok: userns.ok,
      detail: `${userns.detail}; user.max_user_namespaces=${maxUserns ?? '?'}`,
      fix: userns.ok
        ? undefined
        : restrict === '1'
          ? `AppArmor restricts user namespaces: install a profile for the helper:\n    sudo tee /etc/apparmor.d/sbx-native-helper <<'EOF'\n${appArmorProfile(
              helper,
            )
              .split('\n')
              .map((l) => '    ' + l)
              .join('\n')}\nEOF\n    sudo apparmor_parser -r /etc/apparmor.d/sbx-native-helper`
          : maxUserns === '0'
            ? 'sudo sysctl -w user.max_user_namespaces=15000'
            : 'in a container: allow unshare (docker: --security-opt seccomp=unconfined --security-opt apparmor=unconfined, or a seccomp profile allowing clone/unshare with CLONE_NEWUSER)',
    },
    { name: 'AppArmor userns restriction', ok: null, detail: restrict === undefined ? 'not present' : restrict === '1' ? 'on' : 'off' },
    {
      name: 'seccomp',
      ok: /Seccomp:/.test(status),
      detail: /Seccomp:\s*(\d)/.exec(status)?.[1] === '0' ? 'available, this process unfiltered' : 'available, this process is filtered',
    },
    { name: 'pidfd', ok: atLeast(5, 4), detail: atLeast(5, 4) ? 'pidfd_open, waitid(P_PIDFD)' : 'needs Linux >= 5.4' },
    {
      name: 'new mount API',
      ok: atLeast(5, 12),
      detail: atLeast(5, 12) ? 'open_tree, move_mount, mount_setattr' : 'needs Linux >= 5.12 (mount_setattr)',
    },
    {
      name: 'supervisor interfaces',
      ok: fallbacks.length ? null : true,
      detail: fallbacks.length ? fallbacks.join('; ') : 'WAIT_KILLABLE_RECV, fchmodat2, SYNC_WAKE_UP, PIDFD_THREAD',
    },
    { name: 'WSL', ok: wsl !== 'WSL1', detail: wsl, fix: wsl === 'WSL1' ? 'use WSL2 (wsl --set-version <distro> 2)' : undefined },
    { name: 'container', ok: null, detail: container() },
    {
      name: '/proc masking',
      ok: procMasks.length === 0 ? true : null,
      detail: procMasks.length ? `masked: ${procMasks.slice(0, 4).join(', ')}${procMasks.length > 4 ? ', ...' : ''}` : 'none',
    },
    { name: 'cgroup', ok: null, detail: cgroup2 ? 'v2' : 'v1 or hybrid' },
    { name: 'bubblewrap', ok: null, detail: bwrap ? `${bwrap} (not needed; used only for comparisons)` : 'not installed (not needed)' },
    { name: 'helper', ok: true, detail: helper },
    (require('./bwrap/doctor') as typeof import('./bwrap/doctor')).bwrapCheck(),
  ];
  const facts = {
    landlockAbi: ll.abi,
    landlockErrata: ll.errata,
    userns,
    wsl1: wsl === 'WSL1',
    kernel: test?.kernel ?? parseRelease(release),
  };
  const strict = chooseLevel(facts, false);
  const degraded = chooseLevel(facts, true);
  const level = strict.refused
    ? degraded.refused
      ? 'none (refuses to run)'
      : `${degraded.level} (only with --allow-degraded)`
    : strict.level;
  const guarantees =
    strict.level === 'full' && !strict.refused
      ? [
          'writes only beneath the writable roots; everything else read-only (EROFS)',
          'links and renames between roots on one filesystem work (one shared mount + Landlock REFER)',
          'protected names read-only; deny-read paths empty',
          'no network unless allowed (own network namespace)',
          'own pid namespace and /proc; no capabilities; no_new_privs',
        ]
      : [];
  return { checks, level, guarantees, missing: degraded.missing, fixes: checks.filter((c) => c.fix).map((c) => `${c.name}: ${c.fix}`) };
}

export function doctor(json: boolean): number {
  const r = collect();
  if (json) {
    process.stdout.write(JSON.stringify(r, null, 2) + '\n');
  } else {
    const color = process.stdout.isTTY && !process.env.NO_COLOR;
    const mark = (ok: boolean | null) =>
      ok === null ? '  ' : ok ? (color ? '\x1b[32mok\x1b[0m' : 'ok') : color ? '\x1b[31m!!\x1b[0m' : '!!';
    const lines = ['sbx-native doctor', ''];
    for (const c of r.checks) lines.push(`${mark(c.ok)} ${c.name.padEnd(28)} ${c.detail}`);
    lines.push('', `enforcement level for exec: ${r.level}`);
    for (const g of r.guarantees) lines.push(`  guarantees: ${g}`);
    for (const m of r.missing) lines.push(`  missing: ${m}`);
    for (const f of r.fixes) lines.push('', `fix ${f}`);
    process.stdout.write(lines.join('\n') + '\n');
  }
  return r.level.startsWith('full') ? 0 : 1;
}
