// Every code sample in README.md and docs/*.md runs: fenced ```js, ```ts and
// ```sh blocks. A sample that throws, exits non-zero or times out fails its
// test, so the docs cannot drift from the code.
//
// Samples run as a reader would paste them: no prelude, no wrapper, no
// variables handed in. The harness gives each only what a reader's machine
// has: an empty working directory outside /tmp (a scratch project), a HOME
// and a TMPDIR (under /tmp) of its own in temporary trees, and the package
// installed (node_modules/sbx-native, a symlink to this checkout, beside a
// package.json of type commonjs; `npx sbx-native` runs its
// bin/sbx-native.js). `sudo` and `docker` are stubs that print their
// arguments and read their input, so privileged set-up commands are not
// executed but the rest of the block is.
// - js: written to a file unchanged and run with node: `sample.mjs` (ES
//   module) when it has a top-level `import`, else `sample.js` (CommonJS).
// - ts: transpiled (to an ES module when it imports, else CommonJS) and run
//   the same way. Those that import 'sbx-native' are also type-checked
//   (strict) against the package's declarations in dist/.
// - sh: bash with `set -euo pipefail` (OVERRIDES may drop it).
//
// The rule for writing a sample: it runs as pasted, in an empty directory,
// and leaves nothing behind outside it.
// - It defines every name it uses. Top-level `await` needs an ES module
//   (`import { run } from 'sbx-native'`); a CommonJS sample has none.
// - A directory it needs beyond `.` it makes and removes at the end:
//   `fs.mkdtempSync(path.join(os.tmpdir(), 'repo-'))` / `mktemp -d`. A "home"
//   is such a directory (passed as HOME or used by path), not the reader's;
//   what must be in the real home has a unique name, is said so, and removed.
// - /tmp and $TMPDIR are writable by default (`tmp: 'host'`): a path shown
//   unwritable is not under os.tmpdir(), unless the sample sets `tmp`.
// The harness fails a sample that throws or exits non-zero (an undefined name
// is a ReferenceError, an unset sh variable an error) or leaves anything in
// its HOME or TMPDIR.
//
// A block that cannot run anywhere is marked with `<!-- not-run: reason -->`
// on the line before its fence; the reason is shown as the skipped test's name.
// Files this test may not change (troubleshooting.md) get their exceptions
// from OVERRIDES below instead.
import { spawn, spawnSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot, userLabel } from './helpers';
import { ensurePrebuild } from './prebuilds';

const RUNNABLE = new Set(['js', 'ts', 'sh']);
// Samples run in a tree under /var/tmp, like a project outside /tmp: with the
// default `tmp: 'host'`, /tmp is itself a writable root.
const SCRATCH = (() => {
  try {
    fs.accessSync('/var/tmp', fs.constants.W_OK);
    return '/var/tmp';
  } catch {
    return os.tmpdir();
  }
})();
const TIMEOUT_MS = 30000;

interface Block {
  file: string; // relative to the repository
  line: number; // of the opening fence
  lang: string;
  code: string;
  notRun?: string;
}

interface Override {
  file: string;
  /** The block's first line starts with this. */
  startsWith: string;
  notRun?: string;
  /** Run without `set -e` (a list of independent diagnostic commands). */
  noErrexit?: boolean;
  /** Shell lines run after the block, in the same shell. */
  append?: string;
  /** What the block needs first; a reason when it cannot be had (the block is then skipped, saying so). */
  needs?: () => string | undefined;
  /** stdout must match. */
  stdout?: RegExp;
}

// Blocks in files outside this test's care that need a different way to run.
const OVERRIDES: Override[] = [
  {
    file: 'docs/troubleshooting.md',
    startsWith: 'uname -r',
    // Diagnostic lines, each to be read on its own: some keys do not exist on
    // every kernel (sysctl then fails). The sbx-native lines must work.
    noErrexit: true,
    stdout: /\{ abi: [2-9]\d*, errata: \d+ \}\n0\n$/,
  },
  {
    file: 'docs/troubleshooting.md',
    startsWith: 'npm install-scripts approve',
    notRun: 'approves and rebuilds an installed copy from the registry (npm 11, compilers); test/package.test.ts covers installing',
  },
  {
    file: 'docs/troubleshooting.md',
    startsWith: 'helper=$(node -p',
    // sudo is a stub; the helper path the block computes must be the real one.
    append: 'test -x "$helper"',
    needs: ensurePrebuild, // the path is the prebuild's, which a clone has only once built
  },
];

function blocksOf(file: string): Block[] {
  const lines = fs.readFileSync(path.join(repoRoot, file), 'utf8').split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, lang] = open;
    let j = i + 1;
    while (j < lines.length && !(lines[j].startsWith(indent + fence) && lines[j].trim() === fence)) j++;
    const code =
      lines
        .slice(i + 1, j)
        .map((l) => l.slice(indent.length))
        .join('\n') + '\n';
    let k = i - 1;
    while (k >= 0 && lines[k].trim() === '') k--;
    const marker = k >= 0 ? /^\s*<!--\s*not-run:\s*(.*?)\s*-->\s*$/.exec(lines[k]) : null;
    out.push({ file, line: i + 1, lang, code, notRun: marker ? marker[1] : undefined });
    i = j;
  }
  return out;
}

const files = [
  'README.md',
  ...fs
    .readdirSync(path.join(repoRoot, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];
const blocks = files.flatMap(blocksOf);
const overrideFor = (b: Block) => OVERRIDES.find((o) => o.file === b.file && b.code.startsWith(o.startsWith));

// Shared for all samples: stubs and the sbx-native wrappers, readable by every user.
const tools = fs.mkdtempSync(path.join(os.tmpdir(), 'sbx-docs-bin-'));
fs.chmodSync(tools, 0o755);
const bin = path.join(repoRoot, 'bin', 'sbx-native.js');
const script = (name: string, body: string) => fs.writeFileSync(path.join(tools, name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
script('sbx-native', `exec ${JSON.stringify(process.execPath)} ${JSON.stringify(bin)} "$@"`);
script(
  'npx',
  `if [ "$1" = sbx-native ]; then shift; exec sbx-native "$@"; fi\necho "docs test: npx $1 is not available here" >&2; exit 127`,
);
for (const stub of ['sudo', 'docker']) script(stub, `echo "[stub] ${stub} $*"\n[ -t 0 ] || cat >/dev/null`);
afterAll(() => fs.rmSync(tools, { recursive: true, force: true }));

// A PATH without directories `nobody` cannot search (/root/...).
const PATH = [tools, path.dirname(process.execPath), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'].join(
  ':',
);

// sbx-native's own host-facts cache ($XDG_CACHE_HOME/sbx-native) goes outside
// HOME, so that what is left in HOME is the sample's.
function sampleEnv(home: string, tmp: string, xdgCache: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH, HOME: home, TMPDIR: tmp, XDG_CACHE_HOME: xdgCache, NO_COLOR: '1' };
  for (const k of Object.keys(env)) if (k.startsWith('SBX_NATIVE_TEST_') || k === 'NODE_OPTIONS') delete env[k];
  return env;
}

/** Entries left in `dir`, which the sample got empty. */
const leftIn = (dir: string) => fs.readdirSync(dir).map((n) => path.join(dir, n));

function hasTopLevelImport(code: string): boolean {
  return /^import\s[^(]/m.test(code) || /^export\s/m.test(code);
}

interface Result {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  error?: Error;
  litter?: string[];
}

async function runBlock(b: Block): Promise<Result> {
  const base = fs.realpathSync(fs.mkdtempSync(path.join(SCRATCH, 'sbx-docs-')));
  // TMPDIR under /tmp, as on a reader's machine: `tmp: 'private'` and
  // `--tmp` then treat the sample's temporary directories as they would there.
  const tmp = fs.realpathSync(fs.mkdtempSync(path.join('/tmp', 'sbx-docs-tmp-')));
  try {
    fs.chmodSync(base, 0o755);
    const work = path.join(base, 'work');
    const home = path.join(base, 'home');
    const xdgCache = path.join(base, 'xdg-cache');
    for (const d of [work, home, xdgCache]) fs.mkdirSync(d);
    fs.mkdirSync(path.join(base, 'node_modules'));
    fs.symlinkSync(repoRoot, path.join(base, 'node_modules', 'sbx-native'));
    // As `npm init` writes it: without it, Node would guess a .js file's
    // module type from its syntax and a CommonJS sample with top-level
    // `await` would not fail as the SyntaxError it is.
    fs.writeFileSync(path.join(base, 'package.json'), '{ "type": "commonjs" }\n');
    const o = overrideFor(b);
    let argv: string[];
    if (b.lang === 'sh') {
      const text = `${o?.noErrexit ? '' : 'set -euo pipefail\n'}${b.code}${o?.append ? `\n${o.append}\n` : ''}`;
      argv = ['/bin/bash', '-c', text, `${b.file}:${b.line}`];
    } else {
      const esm = hasTopLevelImport(b.code);
      const js =
        b.lang === 'ts'
          ? ts.transpileModule(b.code, {
              compilerOptions: { module: esm ? ts.ModuleKind.ESNext : ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
              fileName: 'sample.ts',
            }).outputText
          : b.code;
      const file = path.join(base, esm ? 'sample.mjs' : 'sample.js');
      fs.writeFileSync(file, js);
      argv = [process.execPath, file];
    }
    const result = await new Promise<Result>((resolve) => {
      const child = spawn(argv[0], argv.slice(1), {
        cwd: work,
        env: sampleEnv(home, tmp, xdgCache),
        timeout: TIMEOUT_MS,
        killSignal: 'SIGKILL',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '',
        stderr = '',
        error: Error | undefined;
      child.stdout.on('data', (d) => {
        stdout += d;
      });
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      child.on('error', (e) => {
        error = e;
      });
      child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr, error }));
    });
    return { ...result, litter: [...leftIn(home), ...leftIn(tmp)] };
  } finally {
    // Samples may leave read-only directories behind: open them up first.
    for (const dir of [base, tmp]) {
      spawnSync('chmod', ['-R', 'u+rwx', dir]);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}

describe(`code samples in the docs (as ${userLabel})`, () => {
  it('finds samples in README.md, docs/api.md and docs/cli.md', () => {
    for (const f of ['README.md', 'docs/api.md', 'docs/cli.md']) {
      expect(blocks.filter((b) => b.file === f && RUNNABLE.has(b.lang) && !b.notRun).length, f).toBeGreaterThan(0);
    }
  });

  it('has a reason for every sample that is not run, and no stray markers', () => {
    for (const b of blocks) if (b.notRun !== undefined) expect(b.notRun.length, `${b.file}:${b.line}`).toBeGreaterThan(3);
    for (const o of OVERRIDES)
      expect(
        blocks.some((b) => overrideFor(b) === o),
        `override for ${o.file}: ${o.startsWith}`,
      ).toBe(true);
  });

  it('type-checks the ts samples that import sbx-native against its declarations (dist/index.d.ts)', () => {
    const samples = blocks.filter((b) => b.lang === 'ts' && !b.notRun && /from 'sbx-native'/.test(b.code));
    const virtual = new Map(samples.map((b, i) => [path.join(repoRoot, `.docs-sample-${i}.ts`), b.code]));
    const options: ts.CompilerOptions = {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      types: ['node'],
      typeRoots: [path.join(repoRoot, 'node_modules', '@types')],
      baseUrl: repoRoot,
      paths: { 'sbx-native': [path.join(repoRoot, 'dist', 'index.d.ts')] },
    };
    const host = ts.createCompilerHost(options);
    const { getSourceFile, fileExists, readFile } = host;
    host.fileExists = (f) => virtual.has(f) || fileExists.call(host, f);
    host.readFile = (f) => virtual.get(f) ?? readFile.call(host, f);
    host.getSourceFile = (f, lang, ...rest) =>
      virtual.has(f) ? ts.createSourceFile(f, virtual.get(f)!, lang) : getSourceFile.call(host, f, lang, ...rest);
    const program = ts.createProgram([...virtual.keys()], options, host);
    const errors = ts.getPreEmitDiagnostics(program).map((d) => {
      const i = d.file ? [...virtual.keys()].indexOf(d.file.fileName) : -1;
      const where =
        i >= 0
          ? `${samples[i].file}:${samples[i].line + 1 + d.file!.getLineAndCharacterOfPosition(d.start ?? 0).line}`
          : (d.file?.fileName ?? '');
      return `${where}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
    expect(samples.length).toBeGreaterThan(0);
    expect(errors).toEqual([]);
  }, 30000);

  for (const file of files) {
    const runnable = blocks.filter((b) => b.file === file && RUNNABLE.has(b.lang));
    if (runnable.length === 0) continue;
    describe.concurrent(file, () => {
      for (const b of runnable) {
        const first =
          b.code
            .split('\n')
            .find((l) => l.trim() !== '')
            ?.trim()
            .slice(0, 60) ?? '';
        const name = `${b.file}:${b.line} ${b.lang}: ${first}`;
        const notRun = b.notRun ?? overrideFor(b)?.notRun;
        if (notRun) {
          it.skip(`${name} (not run: ${notRun})`, () => {});
          continue;
        }
        it(
          name,
          async (ctx) => {
            const missing = overrideFor(b)?.needs?.();
            if (missing) ctx.skip(missing);
            const r = await runBlock(b);
            const report = `${name}\nstatus ${r.status} signal ${r.signal}${r.error ? ` error ${r.error.message}` : ''}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
            if (process.env.SBX_DOCS_SHOW) console.log(report); // to read what the samples print
            expect(r.error, report).toBeUndefined();
            expect(r.status, report).toBe(0);
            expect(r.litter, `${report}\n--- left in HOME or TMPDIR`).toEqual([]);
            const want = overrideFor(b)?.stdout;
            if (want) expect(r.stdout, report).toMatch(want);
          },
          overrideFor(b)?.needs ? 300_000 : TIMEOUT_MS + 5000,
        );
      }
    });
  }
});
