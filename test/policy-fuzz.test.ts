// Bad input: property-based tests (fast-check) of resolvePolicy/prepare with
// hostile paths. Every case ends in a valid plan or a typed error (PolicyError
// SBX_INVALID_POLICY, TypeError for arguments), never another exception, and
// never a plan with less protection than asked: checked against an oracle that
// applies the documented precedence (docs/policy.md: the most specific path
// wins; on a tie none beats write beats read) to the host tree.
import fs from 'fs';
import path from 'path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepare, SandboxedProcess } from '../lib';
import { encodePlan, Plan } from '../lib/plan';
import { DEFAULT_PROTECT, PolicyError, SandboxPolicy } from '../lib/policy';
import { GIT_CODE_PATHS } from '../lib/layout';
import { rmTree, tempDir, userLabel } from './helpers';

const under = (p: string, dir: string) => (dir === '/' ? p.startsWith('/') : p === dir || p.startsWith(dir + '/'));
const RANK = { read: 0, write: 1, none: 2 } as const;
type Access = keyof typeof RANK;

/** What Node (and so the CLI's path.resolve) means by an absolute path: `..` is lexical, then symlinks resolve. */
function resolved(p: string): string | undefined {
  try {
    return fs.realpathSync(path.normalize(p));
  } catch {
    return undefined;
  }
}

/** The wire format read back (native/helper/main.cc parse_plan). */
function decodePlan(buf: Buffer): { op: string; args: string[] }[] {
  const f = buf.toString('utf8').split('\0');
  f.pop();
  const out: { op: string; args: string[] }[] = [];
  for (let i = 0; i < f.length;) {
    const n = Number(f[i + 1]);
    out.push({ op: f[i], args: f.slice(i + 2, i + 2 + n) });
    i += 2 + n;
  }
  return out;
}

/** Every entry below `dir` (symlinks not followed), plus `dir`. */
function walk(dir: string, out: string[] = []): string[] {
  out.push(dir);
  let st: fs.Stats;
  try {
    st = fs.lstatSync(dir);
  } catch {
    return out;
  }
  if (st.isDirectory()) for (const n of fs.readdirSync(dir)) walk(path.join(dir, n), out);
  return out;
}

describe(`policy fuzzing (as ${userLabel})`, () => {
  let T: string;
  let tree: string[];
  beforeAll(() => {
    T = tempDir('sbx-fuzz-');
    for (const d of ['d0/.git/refs', 'd0/sub/.git', 'd0/sub/deep', 'd1/.vscode', 'd1/x', 'd2', 'd3/.git', 'nl\ndir/.git', 'café/y'])
      fs.mkdirSync(path.join(T, d), { recursive: true });
    fs.writeFileSync(path.join(T, 'f'), 'file\n');
    fs.writeFileSync(path.join(T, 'd0/secret'), 's\n');
    fs.writeFileSync(path.join(T, 'd2/.bashrc'), 'x\n');
    fs.writeFileSync(path.join(T, 'd2/.git'), 'gitdir: ../d3/.git\n');
    fs.symlinkSync('d1', path.join(T, 'ldir'));
    fs.symlinkSync('f', path.join(T, 'lfile'));
    fs.symlinkSync('loopB', path.join(T, 'loopA'));
    fs.symlinkSync('loopA', path.join(T, 'loopB'));
    fs.symlinkSync('nothing-here', path.join(T, 'dangling'));
    fs.symlinkSync('../d0', path.join(T, 'd1', 'up'));
    fs.mkdirSync(Buffer.concat([Buffer.from(T + '/bad-'), Buffer.from([0xff, 0xfe])])); // not UTF-8
    tree = walk(T);
  });
  afterAll(() => rmTree(T));

  const components = [
    'd0',
    'd1',
    'd2',
    'd3',
    'sub',
    'deep',
    'x',
    'y',
    '.git',
    '.vscode',
    'f',
    'secret',
    'ldir',
    'lfile',
    'loopA',
    'dangling',
    'up',
    'nl\ndir',
    'café',
    'bad-\uFFFD\uFFFD',
    'bad-\xff\xfe',
    'x\uD800y',
    'missing',
    '..',
    '.',
    '',
    ' ',
  ];
  // Absolute paths through the fixture: `..`, `.`, empty components, symlinks (loops, dangling, to files),
  // newlines, non-UTF-8-looking names, files, missing paths, `/`, host directories.
  const absPath = () =>
    fc.oneof(
      {
        weight: 10,
        arbitrary: fc
          .tuple(fc.constantFrom('T/', 'T//', 'T/d1/up/', '/'), fc.array(fc.constantFrom(...components), { minLength: 0, maxLength: 4 }))
          .map(([pre, cs]) => pre.replace('T', T) + cs.join('/')),
      },
      { weight: 1, arbitrary: fc.constantFrom('/', '/etc', '/etc/passwd', '/usr', '/root', '/var/empty', '/nonexistent/deeper', '/tmp') },
      {
        weight: 1,
        arbitrary: fc.constantFrom(T + '/' + 'd0/./'.repeat(800), T + '/' + 'x'.repeat(255) + '/' + 'y'.repeat(256), `${T}/d0\n`),
      },
      {
        weight: 1,
        arbitrary: fc
          .string({ unit: 'binary', maxLength: 30 })
          .filter((s) => !s.includes('\0'))
          .map((s) => T + '/' + s),
      },
    );
  // What must be refused: relative, empty, NUL, longer than PATH_MAX, arbitrary strings.
  const badPath = () =>
    fc.oneof(
      fc.constantFrom('', 'rel/dir', './d0', '../x', T + '/' + 'a'.repeat(5000), `${T}/d0\0/etc`, '\0'),
      fc.string({ maxLength: 10 }),
      fc.string({ unit: 'binary', maxLength: 20 }).map((s) => T + '/\0' + s),
    );
  const hostilePath = (bad: boolean) =>
    bad ? fc.oneof({ weight: 3, arbitrary: absPath() }, { weight: 1, arbitrary: badPath() }) : absPath();
  const entry = (bad: boolean) =>
    bad
      ? fc.oneof(
          { weight: 12, arbitrary: hostilePath(true) },
          { weight: 1, arbitrary: fc.constantFrom<unknown>(42, null, undefined, {}, ['/tmp']) },
        )
      : absPath();
  const list = (bad: boolean) => fc.option(fc.array(entry(bad), { maxLength: 6 }), { nil: undefined });
  const policyOf = (bad: boolean) =>
    fc.record(
      {
        mode: fc.option(
          fc.constantFrom<unknown>('workspace-write', 'workspace-write', 'workspace-write', 'read-only', 'full', ...(bad ? ['bogus'] : [])),
          { nil: undefined },
        ),
        writableRoots: list(bad),
        readOnly: list(bad),
        denyRead: list(bad),
        rules: fc.option(
          fc.dictionary(hostilePath(bad), fc.constantFrom<unknown>('read', 'write', 'none', 'none', ...(bad ? ['exec'] : [])), {
            maxKeys: 4,
          }),
          { nil: undefined },
        ),
        tmp: fc.option(fc.constantFrom<unknown>('host', 'private', 'none', 'none', ...(bad ? ['tmpfs'] : [])), { nil: undefined }),
        network: fc.option(fc.constantFrom<unknown>(false, true, ...(bad ? ['no'] : [])), { nil: undefined }),
        protect: fc.option(
          fc.array(fc.constantFrom<unknown>('d0', 'secret', '.', 'sub/.git', ...(bad ? ['x/..', '/etc', '', 3] : [])), { maxLength: 3 }),
          { nil: undefined },
        ),
        allowGitWrites: fc.option(fc.boolean(), { nil: undefined }),
      },
      { requiredKeys: [] },
    );
  const policyArb = fc.oneof(policyOf(false), policyOf(true));
  const extraKey = fc.oneof(
    { weight: 12, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constantFrom('writeableRoots', 'toString', 'constructor', '__proto__') },
  );
  const envArb = fc.record({
    TMPDIR: fc.option(fc.constantFrom('T/d2', '/', 'relative', 'T/missing', 'T/loopA'), { nil: undefined }),
    HOME: fc.constantFrom('T/d3', 'T/d0', '/nonexistent'),
  });

  /** Checks one resolved, prepared plan against the oracle; returns the violations. */
  function violations(sandbox: SandboxPolicy, env: NodeJS.ProcessEnv, plan: Plan): string[] {
    const bad: string[] = [];
    // The wire format carries exactly the steps (a NUL inside an argument would re-frame the plan).
    const decoded = decodePlan(encodePlan(plan));
    if (JSON.stringify(decoded) !== JSON.stringify(plan.steps.map((s) => ({ op: s.op, args: s.args }))))
      bad.push('plan does not survive encoding');
    const mode = sandbox.mode ?? 'workspace-write';
    if (mode === 'full') {
      if (plan.layout) bad.push('layout in mode full');
      return bad;
    }
    const layout = plan.layout!;
    // The oracle's rules: what was asked, resolved like the kernel sees it.
    const asked: { p: string; a: Access }[] = [];
    const tmp = sandbox.tmp ?? (mode === 'workspace-write' ? 'host' : 'none');
    const ask = (list: unknown[] | undefined, a: Access) => (list ?? []).forEach((x) => asked.push({ p: x as string, a }));
    const ruleWrites = Object.values(sandbox.rules ?? {}).includes('write');
    if (mode === 'workspace-write') ask(sandbox.writableRoots ?? (ruleWrites ? [] : [T]), 'write');
    ask(sandbox.readOnly, 'read');
    ask(sandbox.denyRead, 'none');
    for (const [k, v] of Object.entries(sandbox.rules ?? {})) asked.push({ p: k, a: v as Access });
    const askedRoots = asked.length;
    if (tmp === 'host') {
      asked.push({ p: '/tmp', a: 'write' });
      // $TMPDIR=/ is ignored on purpose (it would make everything writable).
      if (env.TMPDIR && path.isAbsolute(env.TMPDIR) && env.TMPDIR !== '/') asked.push({ p: env.TMPDIR, a: 'write' });
    }
    const rules = new Map<string, Access>();
    for (const { p, a } of asked) {
      const r = resolved(p);
      if (r !== undefined && (!rules.has(r) || RANK[a] > RANK[rules.get(r)!])) rules.set(r, a);
    }
    const expected = (p: string): Access | undefined => {
      let best: string | undefined;
      for (const r of rules.keys()) if (under(p, r) && (!best || r.length > best.length)) best = r;
      // The private /tmp: a none rule on /tmp (a rule the caller put on /tmp itself is left to decide:
      // docs/policy.md does not say which wins, see the report).
      if (tmp === 'private' && under(p, '/tmp') && (!best || best === '/')) return 'none';
      return best === undefined ? undefined : rules.get(best);
    };
    // The mount layout, simulated in plan order: a group or reveal shows the host path (read-write or
    // not), a mask hides it (a private tmpfs mask is writable, but not the host path), a read-only
    // bind keeps what is visible there and takes writes away.
    const state = (p: string) => {
      let vis = true,
        rw = false;
      for (const a of layout.actions) {
        if (!under(p, a.path)) continue;
        if (a.kind === 'group') {
          vis = true;
          rw = true;
        } else if (a.kind === 'mask') {
          vis = false;
          rw = false;
        } else if (a.kind === 'readonly') rw = false;
        else {
          vis = true;
          rw = a.writable;
        }
      }
      return { vis, rw };
    };
    const writable = (p: string) => layout.writable.some((w) => under(p, w)) && state(p).rw; // Landlock and the mounts
    const hidden = (p: string) => !state(p).vis;

    // 1. Landlock write rights only on what was asked to be writable (and /tmp, $TMPDIR per tmp).
    const allowed = [...rules].filter(([, a]) => a === 'write').map(([p]) => p);
    if (tmp === 'private') allowed.push('/tmp');
    for (const w of layout.writable) if (!allowed.some((r) => under(w, r))) bad.push(`writable ${w} was not asked for`);
    const create = plan.steps.find((s) => s.op === 'landlock_create');
    if (create) {
      const full = plan.steps.filter((s) => s.op === 'landlock_path' && s.args[1] === create.args[0]).map((s) => s.args[0]);
      const fullSet = [...new Set(full)].sort();
      if (JSON.stringify(fullSet) !== JSON.stringify([...new Set([...layout.writable, '/dev/shm'])].sort()))
        bad.push(`Landlock write rights on ${full.join(', ')}`);
    } else bad.push('no Landlock ruleset');
    // 2. Every asked path and every entry of the host tree gets at most the access asked.
    const protect = [...DEFAULT_PROTECT, ...((sandbox.protect as string[]) ?? [])].filter((n) => !(sandbox.allowGitWrites && n === '.git'));
    // (Only to excuse a writable path that is not writable: protected names, of roots, $HOME and gitdir targets, and the repositories the walk found below the roots' tops.)
    const isProtected = (p: string) =>
      [...rules].some(([r, a]) => a === 'write' && protect.some((n) => under(p, path.join(r, n)))) ||
      layout.actions.some(
        (a) => a.kind === 'readonly' && (a.why.startsWith('protect') || a.why.startsWith('repository below a root')) && under(p, a.path),
      );
    const targets = new Set<string>([...rules.keys(), ...tree.map((p) => resolved(p)).filter((p): p is string => !!p)]);
    for (const p of targets) {
      const e = expected(p);
      if (e === 'none' && !hidden(p)) bad.push(`${JSON.stringify(p)} asked hidden, not masked`);
      if (e !== 'write' && writable(p)) bad.push(`${JSON.stringify(p)} asked ${e ?? 'nothing'}, writable`);
      if (e === 'write' && !writable(p) && !isProtected(p) && !hidden(p)) bad.push(`${JSON.stringify(p)} asked writable, is not`);
    }
    // 3. Protected names at the top of every root that is writable stay read-only (unless a rule names them).
    // (Roots asked for; /tmp and $TMPDIR are writable for tmp 'host' but are not roots.)
    const roots = new Set(
      asked
        .filter((x, i) => x.a === 'write' && i < askedRoots)
        .map((x) => resolved(x.p))
        .filter((r): r is string => !!r),
    );
    for (const r of roots) {
      if (rules.get(r) !== 'write' || !writable(r)) continue;
      for (const n of protect) {
        const p = path.join(r, n);
        let st: fs.Stats | undefined;
        try {
          st = fs.lstatSync(p);
        } catch {
          /* missing, or not searchable (as nobody: /root) */
        }
        if (!st || st.isSymbolicLink() || rules.has(p)) continue;
        if (n === '.git' && st.isDirectory()) {
          // The repository model: what makes git run code is read-only, or cannot be made.
          for (const c of GIT_CODE_PATHS) {
            const q = path.join(p, c);
            let cst: fs.Stats | undefined;
            try {
              cst = fs.lstatSync(q);
            } catch {
              /* missing */
            }
            if (rules.has(q)) continue;
            if (cst ? writable(q) : writable(p) && !layout.missingProtected.includes(q))
              bad.push(`repository ${q} is ${cst ? 'writable' : 'creatable'}`);
          }
          continue;
        }
        if (writable(p)) bad.push(`protected ${p} is writable`);
      }
    }
    return bad;
  }

  it('hostile policies give a plan that keeps every protection asked, or a typed error', () => {
    const seen = { plans: 0, policyErrors: 0, typeErrors: 0 };
    fc.assert(
      fc.property(policyArb, extraKey, envArb, (sandbox, extra, envSpec) => {
        const sb: Record<string, unknown> = { ...sandbox };
        if (extra) Object.defineProperty(sb, extra, { value: ['/tmp'], enumerable: true });
        const env: NodeJS.ProcessEnv = { PATH: '/usr/bin:/bin', HOME: envSpec.HOME.replace('T', T) };
        if (envSpec.TMPDIR) env.TMPDIR = envSpec.TMPDIR.replace(/^T/, T);
        let prepared;
        try {
          prepared = prepare('/bin/true', [], { cwd: T, env, sandbox: sb as SandboxPolicy });
        } catch (e) {
          if (e instanceof PolicyError) {
            expect(e.code).toBe('SBX_INVALID_POLICY');
            seen.policyErrors++;
            return;
          }
          if (e instanceof TypeError) {
            seen.typeErrors++;
            return;
          }
          throw e;
        }
        seen.plans++;
        expect(violations(sb as SandboxPolicy, env, prepared.plan)).toEqual([]);
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 1000) },
    );
    // The generator reaches both outcomes (otherwise the property says little).
    expect(seen.plans).toBeGreaterThan(40);
    expect(seen.policyErrors).toBeGreaterThan(40);
  }, 60000);

  it('the oracle sees less protection (so the property can fail)', () => {
    const sandbox = { writableRoots: [path.join(T, 'd0')], denyRead: [path.join(T, 'd0/secret')], tmp: 'none' as const };
    const p = prepare('/bin/true', [], { cwd: T, env: { PATH: '/bin' }, sandbox });
    expect(violations(sandbox, {}, p.plan)).toEqual([]);
    const weaker = structuredClone(p.plan);
    weaker.layout!.actions = weaker.layout!.actions.filter((a) => !(a.kind === 'mask' && a.path.endsWith('/secret')));
    expect(violations(sandbox, {}, weaker).join('\n')).toMatch(/secret.*asked hidden/);
    const wider = structuredClone(p.plan);
    wider.layout!.writable.push(path.join(T, 'd1'));
    expect(violations(sandbox, {}, wider).join('\n')).toMatch(/d1 was not asked for/);
    const unprotected = structuredClone(p.plan);
    unprotected.layout!.missingProtected = unprotected.layout!.missingProtected.filter((m) => !m.includes('/d0/.git/'));
    expect(violations(sandbox, {}, unprotected).join('\n')).toMatch(/repository .*d0\/.git\/config is creatable/);
  });

  it('specific hostile inputs: the expected outcome for each', () => {
    const P = (sandbox: unknown, opts: object = {}) =>
      prepare('/bin/true', [], { cwd: T, env: { PATH: '/bin' }, sandbox: sandbox as SandboxPolicy, ...opts });
    const code = (f: () => unknown) => {
      try {
        f();
        return 'ok';
      } catch (e) {
        return e instanceof PolicyError ? e.code : (e as Error).constructor.name;
      }
    };
    expect(code(() => P({ writableRoots: ['rel/dir'] }))).toBe('SBX_INVALID_POLICY');
    expect(code(() => P({ writableRoots: [`${T}/d0\0x`] }))).toBe('SBX_INVALID_POLICY');
    expect(code(() => P({ denyRead: [T + '/' + 'a'.repeat(4096)] }))).toBe('SBX_INVALID_POLICY');
    expect(code(() => P({ writableRoots: [path.join(T, 'f')] }))).toBe('SBX_INVALID_POLICY'); // a file
    expect(code(() => P({ writableRoots: [path.join(T, 'lfile')] }))).toBe('SBX_INVALID_POLICY'); // a symlink to a file
    expect(code(() => P({ writableRoots: [T + '/d0'] }, { env: { PATH: '/bin\0' } }))).toBe('TypeError');
    expect(code(() => prepare('/bin/true\0', [], { sandbox: { writableRoots: [T] } }))).toBe('TypeError');
    // A symlink loop or a missing root: reported missing, not created, not fatal.
    const loop = P({ writableRoots: [path.join(T, 'loopA'), path.join(T, 'missing/x')], tmp: 'none' });
    expect(loop.policy.missingRoots).toEqual([path.join(T, 'loopA'), path.join(T, 'missing/x')]);
    expect(loop.plan.layout!.writable).toEqual([]);
    expect(fs.existsSync(path.join(T, 'missing'))).toBe(false);
    // Duplicates in many spellings collapse into one root.
    const dup = P({ writableRoots: [T + '/d0', T + '//d0/', T + '/d0/.', T + '/d1/up', T + '/d1/../d0'], tmp: 'none' });
    expect(dup.plan.layout!.writable).toEqual([path.join(T, 'd0')]);
    // `/` as a root: everything writable (asked for), the protected names at / still read-only.
    const slash = P({ writableRoots: ['/'], tmp: 'none' });
    expect(slash.plan.layout!.writable).toEqual(['/']);
    // Nested roots: one mount, and the inner root's protected names are protected too.
    const nested = P({ writableRoots: [T + '/d0', T + '/d0/sub'], tmp: 'none' });
    expect(nested.plan.layout!.writable).toEqual([path.join(T, 'd0')]);
    expect(nested.plan.layout!.actions.filter((a) => a.kind === 'readonly').map((a) => a.path)).toEqual([]);
    for (const g of ['d0/.git', 'd0/sub/.git'])
      expect(nested.plan.layout!.missingProtected).toEqual(expect.arrayContaining(GIT_CODE_PATHS.map((c) => path.join(T, g, c))));
  });

  it('10,000 roots: a valid plan with every root, in reasonable time', () => {
    const many = path.join(T, 'many');
    const roots: string[] = [];
    for (let i = 0; i < 10000; i++) {
      roots.push(path.join(many, `r${i}`));
      fs.mkdirSync(roots[i], { recursive: true });
    }
    fs.mkdirSync(path.join(many, 'r17', '.git'));
    const t0 = Date.now();
    const p = prepare('/bin/true', [], {
      cwd: T,
      env: { PATH: '/bin' },
      sandbox: { writableRoots: [...roots, ...roots.slice(0, 100)], denyRead: [path.join(many, 'r5')], tmp: 'none' },
    });
    const ms = Date.now() - t0;
    console.log(`prepare with 10,000 roots: ${ms} ms, ${p.plan.steps.length} steps`);
    expect([...p.plan.layout!.writable].sort().join('\n')).toBe(
      roots
        .filter((r) => !r.endsWith('/r5'))
        .sort()
        .join('\n'),
    );
    expect(p.plan.layout!.actions.find((a) => a.kind === 'mask' && a.path === path.join(many, 'r5'))).toBeTruthy();
    expect(p.plan.layout!.missingProtected).toContain(path.join(many, 'r17', '.git', 'config'));
    expect(decodePlan(encodePlan(p.plan)).length).toBe(p.plan.steps.length);
    expect(ms).toBeLessThan(30000);
  }, 60000);

  // Fixed finding: a NUL in cwd used to re-frame the NUL-separated plan ("/\0env\0<n>\0..." made an
  // `env` step swallow no_new_privs, Landlock, drop_caps and seccomp). prepare() now refuses it.
  it('a NUL in cwd is a TypeError, not a re-framed plan', () => {
    let err: unknown;
    try {
      const p = prepare('/bin/true', [], {
        cwd: '/\0env\0' + '3',
        env: { PATH: '/bin' },
        sandbox: { writableRoots: [T + '/d2'], tmp: 'none' },
      });
      expect(JSON.stringify(decodePlan(encodePlan(p.plan)))).toBe(JSON.stringify(p.plan.steps));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TypeError);
  });
  it('a NUL in argv0 is a TypeError', () => {
    expect(() =>
      prepare('/bin/true', [], { argv0: 'x\0y', env: { PATH: '/bin' }, sandbox: { writableRoots: [T + '/d2'], tmp: 'none' } }),
    ).toThrow(TypeError);
  });
  // Fixed finding: a `rules` entry 'write' used to be honoured in mode 'read-only'.
  it("mode 'read-only' with a write rule is refused (or writes nothing)", () => {
    let p;
    try {
      p = prepare('/bin/true', [], { cwd: T, env: { PATH: '/bin' }, sandbox: { mode: 'read-only', rules: { [T + '/d0']: 'write' } } });
    } catch (e) {
      expect(e).toBeInstanceOf(PolicyError);
      return;
    }
    expect(p.plan.layout!.writable).toEqual([]);
  });
  // Fixed finding: a deny-read path under /proc was masked before the fresh /proc covered it; now refused.
  it('denyRead under /proc hides the file (or is refused)', async () => {
    let prepared;
    try {
      prepared = prepare('/bin/cat', ['/proc/version'], {
        cwd: T,
        env: { PATH: '/bin' },
        sandbox: { writableRoots: [T + '/d2'], denyRead: ['/proc/version'], tmp: 'none' },
      });
    } catch (e) {
      expect(e).toBeInstanceOf(PolicyError); // refusing it would be fine too
      return;
    }
    const child = new SandboxedProcess(prepared, { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
    });
    await new Promise((res) => child.on('close', res));
    expect(out).toBe('');
  });
});
