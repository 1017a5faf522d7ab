// --dir, --file, --symlink and the data binds inside a fresh tmpfs (a private
// /tmp, a writable --tmpfs P), through the installed front end, against the
// kernel: the helper makes them in the tmpfs once it is mounted, so the
// command sees them, the host never does, and a symlink cannot lead the
// helper out of the tmpfs. Run as root and as nobody.
import fs from 'fs';
import path from 'path';
import { afterAll, describe, expect, it } from 'vitest';
import { rmTree, snapshot, twoRoots, userLabel } from './helpers';
import { installFrontEnd, runBwrap } from './bwrap/fixtures';

const made: string[] = [];
afterAll(() => made.forEach(rmTree));

const { binDir, shim } = installFrontEnd('sbx-bwrap-fresh-bin-');
made.push(binDir);

const mounts = () => fs.readFileSync('/proc/self/mountinfo', 'utf8');

/** Runs the front end with fds 3, 4 and 5 open on `data`. */
function run(data: string, args: string[], cmd: string[], cwd = '/') {
  const fds = [0, 1, 2].map(() => fs.openSync(data, 'r'));
  try {
    return runBwrap(shim, [...args, '--', ...cmd], { cwd, stdio: ['ignore', 'pipe', 'pipe', ...fds] });
  } finally {
    fds.forEach((fd) => fs.closeSync(fd));
  }
}

function setup() {
  const t = twoRoots();
  made.push(t.H);
  fs.mkdirSync(path.join(t.A, 'sub'));
  fs.writeFileSync(path.join(t.A, 'sub', 'kept'), 'host');
  const data = path.join(t.H, 'data');
  fs.writeFileSync(data, 'abc');
  return { ...t, data };
}

const inside = `
const fs = require('fs');
const code = (f) => { try { f(); return 'ok'; } catch (e) { return e.code; } };
const T = process.argv[1];
const mode = (p) => (fs.lstatSync(p).mode & 0o7777).toString(8);
console.log(JSON.stringify([
  fs.readdirSync(T).sort(), mode(T + '/hello/world'), mode(T + '/f'), fs.readFileSync(T + '/f', 'utf8'), fs.readlinkSync(T + '/l'),
  mode(T + '/bd'), code(() => fs.appendFileSync(T + '/bd', 'x')), fs.readFileSync(T + '/bd', 'utf8'),
  mode(T + '/rbd'), code(() => fs.appendFileSync(T + '/rbd', 'x')), code(() => fs.writeFileSync(T + '/hello/new', 'n')),
]));
`;

describe(`made inside a fresh tmpfs (as ${userLabel})`, () => {
  it("in a private /tmp: the command sees them with bubblewrap's modes (--dir 0755, --file 0666 or --perms, data binds 0600 or --perms), writable where bubblewrap makes them so; the host /tmp has none of them", () => {
    const { data } = setup();
    const T = `/tmp/sbx-fresh-${process.pid}-${Date.now()}`;
    const mountsBefore = mounts();
    const r = run(
      data,
      [
        ...['--ro-bind', '/', '/', '--tmpfs', '/tmp', '--dir', `${T}/hello/world`, '--perms', '0640', '--file', '3', `${T}/f`],
        ...['--symlink', 'hello', `${T}/l`, '--bind-data', '4', `${T}/bd`, '--perms', '0640', '--ro-bind-data', '5', `${T}/rbd`],
      ],
      [process.execPath, '-e', inside, T],
    );
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual([
      ['bd', 'f', 'hello', 'l', 'rbd'],
      '755',
      '640',
      'abc',
      'hello',
      '600',
      'ok',
      'abcx',
      '640',
      'EROFS',
      'ok',
    ]);
    expect(r.code).toBe(0);
    expect(fs.existsSync(T)).toBe(false);
    expect(mounts()).toBe(mountsBefore);
  });

  it('in a writable --tmpfs inside a writable root: made in the tmpfs, and the host directory under it is unchanged', () => {
    const { H, A, data } = setup();
    const P = path.join(A, 'sub');
    const before = snapshot(H);
    const r = run(
      data,
      ['--ro-bind', '/', '/', '--bind', A, A, '--tmpfs', P, '--dir', `${P}/d`, '--file', '3', `${P}/d/f`],
      ['sh', '-c', `pwd; ls -A ${P}; cat ${P}/d/f; stat -c %a ${P}/d/f`],
      P,
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`${P}\nd\nabc666\n`); // started in P, which the tmpfs covers: the command starts in the tmpfs, as bubblewrap's
    expect(r.code).toBe(0);
    expect(snapshot(H)).toEqual(before);
  });

  it("a later --tmpfs over the same place hides what was made in the first, as bubblewrap's second tmpfs does; what comes after it is there", () => {
    const { H, A, data } = setup();
    const P = path.join(A, 'sub');
    const before = snapshot(H);
    const r = run(
      data,
      [
        '--ro-bind',
        '/',
        '/',
        '--bind',
        A,
        A,
        '--tmpfs',
        P,
        '--dir',
        `${P}/early`,
        '--file',
        '3',
        `${P}/early-file`,
        '--tmpfs',
        P,
        '--dir',
        `${P}/late`,
      ],
      ['ls', '-A', P],
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('late\n');
    expect(r.code).toBe(0);
    expect(snapshot(H)).toEqual(before);
  });

  it('a --symlink cannot lead the helper out of the tmpfs: a --file through it fails (ELOOP), exit 1, the command never runs, nothing is made where it points', () => {
    const { H, A, B, data } = setup();
    const P = path.join(A, 'sub');
    const before = snapshot(H);
    const r = run(
      data,
      ['--ro-bind', '/', '/', '--bind', A, A, '--bind', B, B, '--tmpfs', P, '--symlink', B, `${P}/l`, '--file', '3', `${P}/l/.bashrc`],
      ['touch', path.join(A, 'ran')],
    );
    expect(r.stderr).toMatch(/^bwrap: fresh_node: open parents of \S+\/sub\/l\/\.bashrc: .*ELOOP/);
    expect(r.code).toBe(1);
    expect(fs.existsSync(path.join(B, '.bashrc'))).toBe(false);
    expect(fs.existsSync(path.join(A, 'ran'))).toBe(false);
    expect(snapshot(H)).toEqual(before);
  });
});
