// `--bind-data FD DEST` and `--ro-bind-data FD DEST` through the installed
// front end, against the kernel: DEST shows a private file holding FD's data
// (writable with --bind-data), nothing reaches the host, nothing is left.
// Run as root and as nobody.
import fs from 'fs';
import path from 'path';
import { afterAll, describe, expect, it } from 'vitest';
import { rmTree, snapshot, twoRoots, userLabel } from './helpers';
import { installFrontEnd, runBwrap } from './bwrap/fixtures';

const made: string[] = [];
afterAll(() => made.forEach(rmTree));

const { binDir, shim } = installFrontEnd('sbx-bwrap-data-bin-');
made.push(binDir);

const mounts = () => fs.readFileSync('/proc/self/mountinfo', 'utf8');

function setup() {
  const t = twoRoots();
  made.push(t.H);
  const outside = path.join(t.H, 'outside');
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'conf'), 'host conf\n');
  fs.writeFileSync(path.join(outside, 'other'), 'other\n');
  fs.writeFileSync(path.join(t.A, 'conf'), 'host a\n');
  const data = path.join(t.H, 'data');
  fs.writeFileSync(data, 'from fd 3\n');
  return { ...t, outside, data };
}

/** Runs the front end with fd 3 open on `dataFile`; the probe prints errno codes (node) so the test asserts them. */
function run(dataFile: string, args: string[], script: string) {
  const fd = fs.openSync(dataFile, 'r');
  try {
    return runBwrap(shim, [...args, '--', process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'pipe', fd] });
  } finally {
    fs.closeSync(fd);
  }
}

// In the sandbox: read P, its mode, try to write it (and NEIGHBOUR), print what happened.
const probe = (p: string, neighbour: string) => `
const fs = require('fs');
const tryWrite = (f, s) => { try { fs.appendFileSync(f, s); return 'ok'; } catch (e) { return e.code; } };
const out = [fs.readFileSync(${JSON.stringify(p)}, 'utf8'), (fs.statSync(${JSON.stringify(p)}).mode & 0o7777).toString(8)];
out.push(tryWrite(${JSON.stringify(p)}, 'written inside\\n'), fs.readFileSync(${JSON.stringify(p)}, 'utf8'));
out.push(tryWrite(${JSON.stringify(neighbour)}, 'x'));
console.log(JSON.stringify(out));
`;

describe(`--bind-data and --ro-bind-data (as ${userLabel})`, () => {
  it('--bind-data over a file in a read-only place: the data, mode 0600, writable inside; the host file and its neighbour are unchanged (EROFS for the neighbour)', () => {
    const { H, outside, data } = setup();
    const before = snapshot(H);
    const mountsBefore = mounts();
    const conf = path.join(outside, 'conf');
    const r = run(data, ['--ro-bind', '/', '/', '--bind-data', '3', conf], probe(conf, path.join(outside, 'other')));
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual(['from fd 3\n', '600', 'ok', 'from fd 3\nwritten inside\n', 'EROFS']);
    expect(r.code).toBe(0);
    expect(snapshot(H)).toEqual(before);
    expect(fs.readFileSync(conf, 'utf8')).toBe('host conf\n');
    expect(mounts()).toBe(mountsBefore);
  });

  it('--perms 0640 --ro-bind-data over a file in a writable root: the data, mode 0640, EROFS on write; the root stays writable and the host file unchanged', () => {
    const { A, H, data } = setup();
    const conf = path.join(A, 'conf');
    const before = snapshot(H);
    const r = run(
      data,
      ['--ro-bind', '/', '/', '--bind', A, A, '--perms', '0640', '--ro-bind-data', '3', conf],
      probe(conf, path.join(A, 'new')),
    );
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual(['from fd 3\n', '640', 'EROFS', 'from fd 3\n', 'ok']);
    expect(r.code).toBe(0);
    expect(fs.readFileSync(conf, 'utf8')).toBe('host a\n');
    expect(fs.readFileSync(path.join(A, 'new'), 'utf8')).toBe('x'); // the root itself is the host's
    fs.rmSync(path.join(A, 'new'));
    const after = snapshot(H);
    expect(after).toEqual({ ...before, a: after.a }); // a's mtime moved with new: nothing else changed
  });

  it("--bind-data over a protected name in a writable root (.bashrc): writable inside, private; the host's .bashrc is unchanged, and the next sandbox sees it", () => {
    const { A, H, outside, data } = setup();
    const rc = path.join(A, '.bashrc');
    fs.writeFileSync(rc, 'host rc\n');
    const before = snapshot(H);
    const r = run(data, ['--ro-bind', '/', '/', '--bind', A, A, '--bind-data', '3', rc], probe(rc, path.join(outside, 'other')));
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual(['from fd 3\n', '600', 'ok', 'from fd 3\nwritten inside\n', 'EROFS']);
    expect(snapshot(H)).toEqual(before);
    expect(fs.readFileSync(rc, 'utf8')).toBe('host rc\n');
    const again = runBwrap(shim, ['--ro-bind', '/', '/', '--bind', A, A, '--', 'cat', rc]);
    expect(again).toMatchObject({ code: 0, stdout: 'host rc\n' });
  });

  it('the command cannot remove or replace the data file to reach what is under it (EBUSY), nor unmount it (EPERM)', () => {
    const { A, data } = setup();
    const conf = path.join(A, 'conf');
    const script = `
const fs = require('fs'), cp = require('child_process');
const code = (f) => { try { f(); return 'ok'; } catch (e) { return e.code; } };
fs.writeFileSync(${JSON.stringify(`${A}/tmp`)}, 'x');
const um = cp.spawnSync('umount', [${JSON.stringify(conf)}], { encoding: 'utf8' });
console.log(JSON.stringify([code(() => fs.unlinkSync(${JSON.stringify(conf)})), code(() => fs.renameSync(${JSON.stringify(`${A}/tmp`)}, ${JSON.stringify(conf)})), um.status !== 0, fs.readFileSync(${JSON.stringify(conf)}, 'utf8')]));
`;
    const r = run(data, ['--ro-bind', '/', '/', '--bind', A, A, '--bind-data', '3', conf], script);
    expect(JSON.parse(r.stdout)).toEqual(['EBUSY', 'EBUSY', true, 'from fd 3\n']);
    expect(fs.readFileSync(conf, 'utf8')).toBe('host a\n');
  });

  it('a data_file step that fails (injected EIO): exit 1 naming the step, the command never runs, no mount or file left', () => {
    const { H, A, outside, data } = setup();
    const conf = path.join(outside, 'conf');
    const argv = ['--ro-bind', '/', '/', '--bind', A, A, '--bind-data', '3', conf, '--', 'touch', path.join(A, 'ran')];
    const dry = run(data, ['--sbx-dry-run', ...argv.slice(0, argv.indexOf('--'))], '0');
    const k = JSON.parse(dry.stdout).plan.steps.findIndex((st: { op: string }) => st.op === 'data_file');
    expect(k).toBeGreaterThan(0);
    expect(JSON.parse(dry.stdout).plan.steps[k].args[3]).toBe('10 bytes'); // the dry run counts the data, it does not print it
    const before = snapshot(H);
    const mountsBefore = mounts();
    const fd = fs.openSync(data, 'r');
    let r;
    try {
      r = runBwrap(shim, argv, { stdio: ['ignore', 'pipe', 'pipe', fd], env: { ...process.env, SBX_NATIVE_TEST_FAIL_STEP: String(k) } });
    } finally {
      fs.closeSync(fd);
    }
    expect(r.stderr).toMatch(/^bwrap: data_file: injected failure: EIO/);
    expect(r.code).toBe(1);
    expect(fs.existsSync(path.join(A, 'ran'))).toBe(false);
    expect(snapshot(H)).toEqual(before);
    expect(mounts()).toBe(mountsBefore);
  });

  it('bad uses fail as bubblewrap fails (exit 1, bwrap: naming the option), the command never runs, nothing is made', () => {
    const { H, A, outside, data } = setup();
    const before = snapshot(H);
    const ran = path.join(A, 'ran');
    const cases: [string[], RegExp][] = [
      [
        ['--bind-data', '3', `${outside}/missing`],
        /^bwrap: --bind-data 3 \S+\/outside\/missing: not supported by sbx-native's bwrap front end \(\S+ does not exist: DEST must exist/,
      ],
      [['--ro-bind-data', '3', outside], /^bwrap: Can't create file at \S+\/outside: Is a directory\n$/],
      [
        ['--bind', A, A, '--bind-data', '3', `${A}/conf`, '--chmod', '0644', `${A}/conf`],
        /^bwrap: --chmod \S+\/a\/conf: not supported by sbx-native's bwrap front end \(\S+ is a data file, made anew for the command\)/,
      ],
    ];
    for (const [opts, re] of cases) {
      const fd = fs.openSync(data, 'r');
      let r;
      try {
        r = runBwrap(shim, ['--ro-bind', '/', '/', '--bind', A, A, ...opts, '--', 'touch', ran], { stdio: ['ignore', 'pipe', 'pipe', fd] });
      } finally {
        fs.closeSync(fd);
      }
      expect(r.stderr).toMatch(re);
      expect(r.code).toBe(1);
      expect(fs.existsSync(ran)).toBe(false);
    }
    expect(snapshot(H)).toEqual(before);
  });
});
